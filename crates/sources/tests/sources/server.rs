//! A tiny HTTP/1.1 server on 127.0.0.1 with ranges, redirects, slow, stalled and truncated
//! bodies. One request per connection (`Connection: close`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;

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

/// The route's reply for this request, with `BreaksOnce` settled into what it does now.
fn reply_for(routes: &Mutex<HashMap<String, Reply>>, path: &str) -> Option<Reply> {
    match routes.lock().unwrap().get(path).cloned() {
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
    let ok = |length: usize, extra: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nContent-Type: application/octet-stream\r\n{extra}Connection: close\r\n\r\n"
        )
    };
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
            let from = range
                .as_deref()
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
                    write_body(&mut connection, &bytes[from..], &sent).await?;
                }
                _ => {
                    let extra = if ranges {
                        "Accept-Ranges: bytes\r\n"
                    } else {
                        ""
                    };
                    connection
                        .write_all(ok(bytes.len(), extra).as_bytes())
                        .await?;
                    write_body(&mut connection, &bytes, &sent).await?;
                }
            }
        }
        Some(Reply::Gated { bytes, first, gate }) => {
            connection.write_all(ok(bytes.len(), "").as_bytes()).await?;
            write_body(&mut connection, &bytes[..first], &sent).await?;
            gate.notified().await;
            write_body(&mut connection, &bytes[first..], &sent).await?;
        }
        Some(Reply::BreaksOnce { .. }) => unreachable!("answered as Body or Truncated above"),
        Some(Reply::Truncated { bytes, sent: count }) => {
            connection.write_all(ok(bytes.len(), "").as_bytes()).await?;
            write_body(&mut connection, &bytes[..count], &sent).await?;
        }
        Some(Reply::Stalled { bytes, sent: count }) => {
            connection.write_all(ok(bytes.len(), "").as_bytes()).await?;
            write_body(&mut connection, &bytes[..count], &sent).await?;
            // Hold the connection open until the client goes away.
            let mut sink = [0_u8; 64];
            while connection.read(&mut sink).await? > 0 {}
        }
    }
    connection.shutdown().await
}
