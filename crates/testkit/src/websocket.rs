//! What the websocket fakes (Discord gateway, Discord voice) share: the frames a fake sends,
//! and the task that writes them to the client until a close.

use futures::{Sink, SinkExt as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A frame for the connected client.
pub(crate) enum Outgoing {
    Text(String),
    /// Close with a code and reason, then stop writing.
    Close(u16, String),
}

/// The connected client's frame queue, if one is connected: a fake keeps the newest connection's.
#[derive(Default)]
pub(crate) struct CurrentClient(std::sync::Mutex<Option<mpsc::UnboundedSender<Outgoing>>>);

impl CurrentClient {
    /// From now on frames go to `sender` (a new connection replaces the one before).
    pub(crate) fn connect(&self, sender: mpsc::UnboundedSender<Outgoing>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sender);
    }

    /// Queues `message` for the connected client; false when none is connected (or its writer
    /// has stopped).
    pub(crate) fn send(&self, message: Outgoing) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .is_some_and(|sender| sender.send(message).is_ok())
    }
}

/// Writes what arrives on `outgoing` to `sink` until a close, a send error or the end of the
/// channel.
pub(crate) fn spawn_writer<S>(
    mut sink: S,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
) -> JoinHandle<()>
where
    S: Sink<Message> + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            match message {
                Outgoing::Text(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Outgoing::Close(code, reason) => {
                    let frame = CloseFrame {
                        code: CloseCode::from(code),
                        reason: reason.into(),
                    };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    let _ = sink.close().await;
                    return;
                }
            }
        }
    })
}
