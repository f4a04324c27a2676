//! A tiny HTTP/1.1 server on 127.0.0.1 with ranges, redirects, slow, stalled, truncated and
//! reset bodies, and routes whose answer changes from one request to the next. One request per
//! connection (`Connection: close`).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;

use crate::support::wav_bytes;

/// Requested kernel send buffer of every served connection.
const SEND_BUFFER_BYTES: u32 = 32 * 1024;

#[derive(Clone)]
pub enum Reply {
    /// The whole body; `ranges` decides whether `Range` requests are honoured.
    Body {
        bytes: Arc<Vec<u8>>,
        ranges: bool,
    },
    Redirect(String),
    /// Sends `first` bytes, then waits for `gate` before sending the rest.
    Gated {
        bytes: Arc<Vec<u8>>,
        first: usize,
        gate: Arc<Notify>,
    },
    /// Promises the whole length, sends `sent` bytes and closes.
    Truncated {
        bytes: Arc<Vec<u8>>,
        sent: usize,
    },
    /// Promises the whole length, sends `sent` bytes and then nothing, keeping the connection.
    Stalled {
        bytes: Arc<Vec<u8>>,
        sent: usize,
    },
    /// The first request gets `sent` bytes and a closed connection; later ones are answered
    /// like a `Body` that takes ranges (a server dropping an idle download).
    BreaksOnce {
        bytes: Arc<Vec<u8>>,
        sent: usize,
        broken: Arc<AtomicBool>,
    },
    Status(u16),
    /// A status with a `Retry-After` header of this text.
    RetryAfter(u16, String),
    /// Promises the whole length, sends `sent` bytes and breaks off as `how` says.
    Breaks {
        bytes: Arc<Vec<u8>>,
        sent: usize,
        how: Break,
    },
    /// Answers each request with the next reply of the list; the last one answers every
    /// request after it.
    Sequence(Arc<Mutex<VecDeque<Reply>>>),
}

/// How a [`Reply::Breaks`] ends.
#[derive(Debug, Clone, Copy)]
pub enum Break {
    /// Closes the connection (a `Truncated` body).
    Close,
    /// Resets the connection (TCP RST): the client sees "connection reset".
    Reset,
    /// Closes, having said it takes no ranges (`Accept-Ranges: none`).
    CloseWithoutRanges,
}

impl Reply {
    /// The whole body, with `Range` requests honoured.
    pub fn ranged(bytes: &Arc<Vec<u8>>) -> Self {
        Self::Body {
            bytes: bytes.clone(),
            ranges: true,
        }
    }

    /// `replies` in turn, the last one for good.
    pub fn sequence(replies: impl IntoIterator<Item = Self>) -> Self {
        Self::Sequence(Arc::new(Mutex::new(replies.into_iter().collect())))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
}

pub struct TestServer {
    pub address: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Body bytes written so far, over all requests.
    pub body_bytes_sent: Arc<AtomicUsize>,
}

impl TestServer {
    /// Binds and serves on the current tokio runtime.
    pub fn start() -> Self {
        // A small, fixed send buffer (accepted sockets inherit it): on loopback Linux grows
        // it to megabytes, which would swallow a whole test file the moment a request
        // arrives, and `body_bytes_sent` would count bytes the client never asked for.
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_send_buffer_size(SEND_BUFFER_BYTES).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(64).unwrap();
        let address = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let body_bytes_sent = Arc::new(AtomicUsize::new(0));
        let (task_routes, task_seen, task_sent) =
            (routes.clone(), seen.clone(), body_bytes_sent.clone());
        tokio::spawn(async move {
            while let Ok((connection, _)) = listener.accept().await {
                let (routes, seen, sent) =
                    (task_routes.clone(), task_seen.clone(), task_sent.clone());
                tokio::spawn(async move {
                    let _ = serve(connection, routes, seen, sent).await;
                });
            }
        });
        Self {
            address,
            routes,
            seen,
            body_bytes_sent,
        }
    }

    pub fn route(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.to_owned(), reply);
    }

    /// Serves a 2 s tone (48 kHz stereo) at `path`: the first request gets a third of it and
    /// then the break `how`, later requests the replies `then` makes of the tone, in turn.
    /// Returns the tone and the bytes the first request got.
    pub fn tone_breaking_at_a_third(
        &self,
        path: &str,
        how: Break,
        then: impl FnOnce(&Arc<Vec<u8>>) -> Vec<Reply>,
    ) -> (Arc<Vec<u8>>, usize) {
        let bytes = Arc::new(wav_bytes(48_000, 2, 2.0));
        let sent = bytes.len() / 3;
        let first = Reply::Breaks {
            bytes: bytes.clone(),
            sent,
            how,
        };
        self.route(
            path,
            Reply::sequence(std::iter::once(first).chain(then(&bytes))),
        );
        (bytes, sent)
    }

    pub fn file(&self, path: &str, bytes: Vec<u8>) {
        self.route(
            path,
            Reply::Body {
                bytes: Arc::new(bytes),
                ranges: true,
            },
        );
    }

    /// `http://{host}:{port}{path}`.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.address.port())
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_head(connection: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if connection.read(&mut byte).await? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

async fn write_body(
    connection: &mut TcpStream,
    bytes: &[u8],
    sent: &AtomicUsize,
) -> std::io::Result<()> {
    for chunk in bytes.chunks(16 * 1024) {
        connection.write_all(chunk).await?;
        sent.fetch_add(chunk.len(), Ordering::SeqCst);
    }
    connection.flush().await
}

/// The route's reply for this request, with `BreaksOnce` and `Sequence` settled into what
/// they do now.
fn reply_for(routes: &Mutex<HashMap<String, Reply>>, path: &str) -> Option<Reply> {
    let reply = routes.lock().unwrap().get(path).cloned();
    let reply = match reply {
        Some(Reply::Sequence(replies)) => {
            let mut replies = replies.lock().unwrap();
            if replies.len() > 1 {
                replies.pop_front()
            } else {
                replies.front().cloned()
            }
        }
        other => other,
    };
    match reply {
        Some(Reply::BreaksOnce {
            bytes,
            sent,
            broken,
        }) => {
            if broken.swap(true, Ordering::SeqCst) {
                Some(Reply::Body {
                    bytes,
                    ranges: true,
                })
            } else {
                Some(Reply::Truncated { bytes, sent })
            }
        }
        other => other,
    }
}

/// The head of a 200 answer of `length` bytes, with `extra` header lines.
fn ok_head(length: usize, extra: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nContent-Type: application/octet-stream\r\n{extra}Connection: close\r\n\r\n"
    )
}

/// A whole body, or from the requested byte on when `ranges` are honoured.
async fn serve_body(
    connection: &mut TcpStream,
    bytes: &[u8],
    ranges: bool,
    range: Option<&str>,
    sent: &AtomicUsize,
) -> std::io::Result<()> {
    let from = range
        .and_then(|range| range.strip_prefix("bytes="))
        .and_then(|range| range.strip_suffix('-'))
        .and_then(|start| start.parse::<usize>().ok())
        .filter(|_| ranges);
    match from {
        Some(from) if from < bytes.len() => {
            let text = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
                bytes.len() - from,
                bytes.len() - 1,
                bytes.len()
            );
            connection.write_all(text.as_bytes()).await?;
            write_body(connection, &bytes[from..], sent).await
        }
        _ => {
            let extra = if ranges {
                "Accept-Ranges: bytes\r\n"
            } else {
                ""
            };
            connection
                .write_all(ok_head(bytes.len(), extra).as_bytes())
                .await?;
            write_body(connection, bytes, sent).await
        }
    }
}

async fn serve(
    mut connection: TcpStream,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    sent: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let head = read_head(&mut connection).await?;
    let path = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_owned();
    let range = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("range")
            .then(|| value.trim().to_owned())
    });
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        range: range.clone(),
    });
    let reply = reply_for(&routes, &path);
    match reply {
        None | Some(Reply::Status(404)) => {
            connection
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await?;
        }
        Some(Reply::Status(code)) => {
            let text = format!(
                "HTTP/1.1 {code} Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            connection.write_all(text.as_bytes()).await?;
        }
        Some(Reply::Redirect(location)) => {
            let text = format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            connection.write_all(text.as_bytes()).await?;
        }
        Some(Reply::Body { bytes, ranges }) => {
            serve_body(&mut connection, &bytes, ranges, range.as_deref(), &sent).await?;
        }
        Some(Reply::Gated { bytes, first, gate }) => {
            connection
                .write_all(ok_head(bytes.len(), "").as_bytes())
                .await?;
            write_body(&mut connection, &bytes[..first], &sent).await?;
            gate.notified().await;
            write_body(&mut connection, &bytes[first..], &sent).await?;
        }
        Some(Reply::BreaksOnce { .. } | Reply::Sequence(_)) => {
            unreachable!("settled into another reply above")
        }
        Some(Reply::RetryAfter(code, after)) => {
            let text = format!(
                "HTTP/1.1 {code} Whatever\r\nRetry-After: {after}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            connection.write_all(text.as_bytes()).await?;
        }
        Some(Reply::Truncated { bytes, sent: count }) => {
            connection
                .write_all(ok_head(bytes.len(), "").as_bytes())
                .await?;
            write_body(&mut connection, &bytes[..count], &sent).await?;
        }
        Some(Reply::Stalled { bytes, sent: count }) => {
            connection
                .write_all(ok_head(bytes.len(), "").as_bytes())
                .await?;
            write_body(&mut connection, &bytes[..count], &sent).await?;
            // Hold the connection open until the client goes away.
            let mut sink = [0_u8; 64];
            while connection.read(&mut sink).await? > 0 {}
        }
        Some(Reply::Breaks {
            bytes,
            sent: count,
            how,
        }) => {
            let extra = match how {
                Break::CloseWithoutRanges => "Accept-Ranges: none\r\n",
                Break::Close | Break::Reset => "",
            };
            connection
                .write_all(ok_head(bytes.len(), extra).as_bytes())
                .await?;
            write_body(&mut connection, &bytes[..count], &sent).await?;
            if matches!(how, Break::Reset) {
                // Closing with a zero linger sends RST instead of FIN.
                connection.set_zero_linger()?;
                return Ok(());
            }
        }
    }
    connection.shutdown().await
}
