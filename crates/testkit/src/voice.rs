//! A fake Discord voice server, on 127.0.0.1 ports the OS picks, that the real songbird 0.6
//! client connects to (wire details checked against songbird 0.6.1 and serenity-voice-model 0.3):
//!
//! - a TLS websocket (`wss://localhost:PORT/?v=4`, songbird never speaks plain `ws://` to
//!   voice), with a throwaway CA written to [`FakeVoiceServer::ca_file`]; run the client with
//!   `SSL_CERT_FILE=<that file>` (songbird's rustls + tws features read roots through
//!   rustls-native-certs, which then loads only that file);
//! - the handshake: Hello (op 8) on connect; Identify (op 0) → Ready (op 2) offering only
//!   `aead_aes256_gcm_rtpsize`; Select Protocol (op 1) → Session Description (op 4) with
//!   `dave_protocol_version: 0` so DAVE stays off; Heartbeat (op 3, `d` a bare nonce in
//!   voice gateway v4) → Heartbeat ACK (op 6) echoing `d`; Resume (op 7) → Resumed (op 9);
//!   Speaking (op 5) is recorded;
//! - UDP: IP discovery (74 bytes: type, length 70, ssrc, 64-byte NUL-padded address,
//!   big-endian port), 8-byte keepalives (ignored), and RTP voice packets that it decrypts
//!   and Opus-decodes to interleaved stereo f32 at 48 kHz.
//!
//! The RTP layout, as songbird's `driver/crypto.rs` writes it: RTP header (12 bytes, plus
//! 4 per CSRC) ‖ [4-byte extension preamble when the X bit is set] ‖ AES-256-GCM ciphertext
//! ‖ 16-byte tag ‖ 4-byte big-endian nonce counter. The AAD is everything before the
//! ciphertext; the 12-byte GCM nonce is the counter followed by 8 zero bytes. Extension
//! words (if any) are inside the ciphertext, before the Opus payload.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use aes_gcm::aead::{AeadInPlace as _, KeyInit as _};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use futures::StreamExt as _;
use rand::Rng as _;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_tungstenite::tungstenite::Message;

use crate::recorder::{Recorder, WAIT};
use crate::websocket::{CurrentClient, Outgoing, spawn_writer};

/// The only encryption mode the fake offers (songbird's preferred one).
pub const MODE: &str = "aead_aes256_gcm_rtpsize";
/// The heartbeat interval (ms) sent in Hello, as Discord does.
pub const HEARTBEAT_INTERVAL_MS: f64 = 13_750.0;
/// RTP payload type of Discord voice (Opus).
const RTP_PAYLOAD_TYPE: u8 = 120;
const RTP_HEADER_LEN: usize = 12;
const TAG_LEN: usize = 16;
const NONCE_COUNTER_LEN: usize = 4;
const IP_DISCOVERY_LEN: usize = 74;
/// Largest Opus frame (120 ms) per channel at 48 kHz.
const MAX_FRAME_SAMPLES: usize = 5_760;

/// One RTP packet that decrypted and decoded.
#[derive(Clone)]
struct ReceivedPacket {
    /// Interleaved stereo f32 at 48 kHz.
    pcm: Vec<f32>,
}

struct Shared {
    ssrc: u32,
    secret_key: [u8; 32],
    udp_port: u16,
    received: Recorder<Value>,
    packets: Recorder<ReceivedPacket>,
    /// Why each RTP packet with this server's SSRC failed to decrypt or decode.
    rejections: Recorder<String>,
    /// The SSRCs of RTP packets that carried another SSRC (another session's packets).
    foreign: Recorder<u32>,
    connections: AtomicUsize,
    current: CurrentClient,
    /// Wakes the open connection to end it with a TCP reset (no close frame, no FIN).
    reset: tokio::sync::Notify,
    stop: AtomicBool,
}

/// A fake Discord voice server (TLS websocket + UDP), see the module docs.
pub struct FakeVoiceServer {
    shared: Arc<Shared>,
    endpoint: String,
    ca_file: tempfile::TempPath,
    accept_tasks: Vec<JoinHandle<()>>,
    udp_thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeVoiceServer {
    /// Makes a CA and a `localhost`/`127.0.0.1` leaf certificate, and listens on 127.0.0.1
    /// (websocket and UDP; the websocket also on `[::1]` at the same port when that is free,
    /// so `localhost` works whichever address it resolves to first).
    ///
    /// # Panics
    /// When no port can be bound or the certificates cannot be made.
    pub async fn start() -> Self {
        let (acceptor, ca_file) = tls_acceptor();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake voice websocket");
        let port = listener.local_addr().expect("fake voice address").port();
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind the fake voice UDP socket");
        udp.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("UDP read timeout");
        let mut rng = rand::rng();
        let shared = Arc::new(Shared {
            ssrc: rng.random_range(1..u32::MAX),
            secret_key: rng.random(),
            udp_port: udp.local_addr().expect("fake voice UDP address").port(),
            received: Recorder::new(),
            packets: Recorder::new(),
            rejections: Recorder::new(),
            foreign: Recorder::new(),
            connections: AtomicUsize::new(0),
            current: CurrentClient::default(),
            reset: tokio::sync::Notify::new(),
            stop: AtomicBool::new(false),
        });
        let mut accept_tasks = vec![accept_loop(listener, acceptor.clone(), &shared)];
        if let Ok(v6) = TcpListener::bind(("::1", port)).await {
            accept_tasks.push(accept_loop(v6, acceptor, &shared));
        }
        let udp_shared = Arc::clone(&shared);
        let udp_thread = std::thread::Builder::new()
            .name("fake-voice-udp".to_owned())
            .spawn(move || serve_udp(&udp, &udp_shared))
            .expect("spawn the fake voice UDP thread");
        Self {
            shared,
            endpoint: format!("localhost:{port}"),
            ca_file,
            accept_tasks,
            udp_thread: Some(udp_thread),
        }
    }

    /// `localhost:PORT`, the `endpoint` of `VOICE_SERVER_UPDATE`
    /// (see `FakeGateway::set_voice_endpoint`).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The PEM file of the CA that signed the server's certificate: set `SSL_CERT_FILE` to it
    /// for the process running songbird. It lives as long as this server.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The SSRC handed out in Ready.
    pub fn ssrc(&self) -> u32 {
        self.shared.ssrc
    }

    /// How many RTP packets were decrypted and decoded (keepalives and discovery not counted).
    pub fn packets(&self) -> usize {
        self.shared.packets.lock().len()
    }

    /// How many RTP packets with this server's SSRC failed to decrypt or decode (should stay 0).
    pub fn rejected_packets(&self) -> usize {
        self.shared.rejections.lock().len()
    }

    /// Why each rejected packet was rejected (SSRC, length, sequence number, reason).
    pub fn rejections(&self) -> Vec<String> {
        self.shared.rejections.snapshot()
    }

    /// The SSRCs of RTP packets that arrived here carrying another session's SSRC, in arrival
    /// order. They are not counted as rejected: this server cannot decrypt them, and a test can
    /// tell a stray packet (unknown SSRC) from one voice connection's audio reaching another
    /// connection's server (the other server's SSRC).
    pub fn foreign_ssrcs(&self) -> Vec<u32> {
        self.shared.foreign.snapshot()
    }

    /// Everything received so far, decoded: interleaved stereo f32 at 48 kHz, in arrival order
    /// (960 frames per 20 ms packet; the silence frame `F8 FF FE` decodes to near-zero).
    pub fn decoded(&self) -> Vec<f32> {
        self.shared
            .packets
            .lock()
            .iter()
            .flat_map(|packet| packet.pcm.iter().copied())
            .collect()
    }

    /// Waits until at least `count` packets decoded; returns how many there are.
    ///
    /// # Panics
    /// After `timeout` without them.
    pub async fn wait_for_packets(&self, count: usize, timeout: Duration) -> usize {
        self.shared
            .packets
            .wait_for_within(&format!("{count} voice packet(s)"), timeout, |packets| {
                (packets.len() >= count).then_some(packets.len())
            })
            .await
    }

    /// Closes the current voice websocket with `code` (4015 "voice server crashed" makes
    /// songbird resume, 4006 makes it give the session up); false when none is open.
    pub fn close(&self, code: u16) -> bool {
        self.shared
            .current
            .send(Outgoing::Close(code, format!("scripted close {code}")))
    }

    /// Ends the open voice websocket abruptly, as a dying server or a middlebox does: a TCP
    /// reset, without a close frame.
    pub fn reset(&self) {
        self.shared.reset.notify_waiters();
    }

    /// How many voice websocket connections completed the TLS and websocket handshakes.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The `d` of every Identify (op 0): `server_id`, `session_id`, `token`, `user_id`,
    /// `max_dave_protocol_version`.
    pub fn identified(&self) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|payload| payload["op"].as_u64() == Some(0))
            .map(|payload| payload["d"].clone())
            .collect()
    }

    /// Every JSON payload the client sent, in order, over every connection.
    pub fn received(&self) -> Vec<Value> {
        self.shared.received.snapshot()
    }

    /// Waits until the client has sent `count` payloads with opcode `op` (e.g. 7 for Resume);
    /// returns the last.
    ///
    /// # Panics
    /// After [`WAIT`] without them.
    pub async fn wait_for_op(&self, op: u64, count: usize) -> Value {
        self.shared
            .received
            .wait_for(&format!("{count} voice payload(s) with op {op}"), |items| {
                let matching: Vec<&Value> = items
                    .iter()
                    .filter(|payload| payload["op"].as_u64() == Some(op))
                    .collect();
                (matching.len() >= count).then(|| matching[count - 1].clone())
            })
            .await
    }
}

impl Drop for FakeVoiceServer {
    fn drop(&mut self) {
        for task in &self.accept_tasks {
            task.abort();
        }
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.udp_thread.take() {
            let _ = thread.join();
        }
    }
}

/// A TLS acceptor for a fresh leaf certificate (SAN `DNS:localhost`, `IP:127.0.0.1`) signed by
/// a fresh CA, and the CA's PEM file.
fn tls_acceptor() -> (TlsAcceptor, tempfile::TempPath) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "minstrel testkit voice CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");

    let mut leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("leaf params");
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca)
        .expect("leaf certificate");

    let mut ca_file = tempfile::Builder::new()
        .prefix("minstrel-voice-ca-")
        .suffix(".pem")
        .tempfile()
        .expect("CA temp file");
    std::io::Write::write_all(&mut ca_file, ca.pem().as_bytes()).expect("write the CA file");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("TLS server config");
    (
        TlsAcceptor::from(Arc::new(config)),
        ca_file.into_temp_path(),
    )
}

fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: &Arc<Shared>,
) -> JoinHandle<()> {
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_voice(stream, acceptor.clone(), Arc::clone(&shared)));
        }
    })
}

/// The server's answer to one client payload, if any.
fn answer(payload: &Value, shared: &Shared) -> Option<Value> {
    match payload["op"].as_u64()? {
        0 => Some(json!({"op": 2, "d": {
            "ssrc": shared.ssrc,
            "ip": "127.0.0.1",
            "port": shared.udp_port,
            "modes": [MODE],
        }})),
        1 => Some(json!({"op": 4, "d": {
            "mode": MODE,
            "secret_key": shared.secret_key,
            "dave_protocol_version": 0,
        }})),
        // Voice gateway v4 (songbird) sends a bare nonce; v8 sends {"t": nonce, "seq_ack": n}
        // and expects {"t": nonce} back.
        3 => {
            let nonce = match &payload["d"] {
                Value::Object(fields) => {
                    json!({"t": fields.get("t").cloned().unwrap_or(Value::Null)})
                }
                other => other.clone(),
            };
            Some(json!({"op": 6, "d": nonce}))
        }
        // serenity-voice-model requires the `d` key even though it is null.
        7 => Some(json!({"op": 9, "d": null})),
        _ => None,
    }
}

async fn serve_voice(stream: TcpStream, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    // A second handle on the socket, to make its close a reset on demand (SO_LINGER 0).
    let Ok(resettable) = std::os::fd::AsFd::as_fd(&stream).try_clone_to_owned() else {
        return;
    };
    let resettable = tokio::net::TcpSocket::from_std_stream(resettable.into());
    let Ok(Ok(tls)) = tokio::time::timeout(WAIT, acceptor.accept(stream)).await else {
        return;
    };
    let Ok(Ok(socket)) = tokio::time::timeout(WAIT, tokio_tungstenite::accept_async(tls)).await
    else {
        return;
    };
    shared.connections.fetch_add(1, Ordering::SeqCst);
    shared.received.notify();
    let (sink, mut source) = socket.split();
    let (sender, outgoing) = mpsc::unbounded_channel();
    shared.current.connect(sender.clone());
    // Discord sends Hello as soon as the socket opens, before Identify or Resume.
    let hello = json!({"op": 8, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}});
    let _ = sender.send(Outgoing::Text(hello.to_string()));
    let writer = spawn_writer(sink, outgoing);
    let reset = shared.reset.notified();
    tokio::pin!(reset);
    reset.as_mut().enable();
    loop {
        let message = tokio::select! {
            () = &mut reset => {
                let _ = resettable.set_zero_linger();
                break;
            }
            message = source.next() => message,
        };
        let Some(Ok(message)) = message else {
            break;
        };
        // Binary frames are DAVE (MLS) opcodes, which never start: DAVE is off.
        let Message::Text(text) = message else {
            if matches!(message, Message::Close(_)) {
                break;
            }
            continue;
        };
        let Ok(payload) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if let Some(reply) = answer(&payload, &shared) {
            let _ = sender.send(Outgoing::Text(reply.to_string()));
        }
        shared.received.push(payload);
    }
    writer.abort();
    // Both halves of the stream go now; the socket closes when the last handle does.
    drop(source);
    let _ = writer.await;
    drop(resettable);
}

/// Why a UDP datagram was not audio.
#[derive(Debug, PartialEq, Eq)]
enum Rejected {
    NotRtp,
    Decrypt,
}

/// Decrypts one `aead_aes256_gcm_rtpsize` RTP packet sealed with `secret_key` and returns its
/// Opus payload; `None` when it is not an Opus RTP packet or does not decrypt. The same check
/// the fake applies to songbird's packets, for tests of other packet writers (`minstrel bench`).
pub fn open_rtp_packet(packet: &[u8], secret_key: &[u8; 32]) -> Option<Vec<u8>> {
    open_rtp(packet, &Aes256Gcm::new(secret_key.into())).ok()
}

/// Decrypts one `aead_aes256_gcm_rtpsize` RTP packet and returns its Opus payload.
fn open_rtp(packet: &[u8], cipher: &Aes256Gcm) -> Result<Vec<u8>, Rejected> {
    if packet.len() < RTP_HEADER_LEN || packet[0] >> 6 != 2 || packet[1] & 0x7f != RTP_PAYLOAD_TYPE
    {
        return Err(Rejected::NotRtp);
    }
    let csrc_count = usize::from(packet[0] & 0x0f);
    let has_extension = packet[0] & 0x10 != 0;
    let has_padding = packet[0] & 0x20 != 0;
    let header_len = RTP_HEADER_LEN + 4 * csrc_count;
    // Discord encrypts the extension words but leaves their 4-byte preamble in the clear.
    let clear_len = header_len + if has_extension { 4 } else { 0 };
    if packet.len() < clear_len + TAG_LEN + NONCE_COUNTER_LEN {
        return Err(Rejected::NotRtp);
    }
    let (aad, sealed) = packet.split_at(clear_len);
    let (sealed, counter) = sealed.split_at(sealed.len() - NONCE_COUNTER_LEN);
    let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    let mut nonce = Nonce::default();
    nonce[..NONCE_COUNTER_LEN].copy_from_slice(counter);
    let mut tag_bytes = Tag::default();
    tag_bytes.copy_from_slice(tag);
    let mut plaintext = ciphertext.to_vec();
    cipher
        .decrypt_in_place_detached(&nonce, aad, &mut plaintext, &tag_bytes)
        .map_err(|_| Rejected::Decrypt)?;
    let mut start = 0;
    if has_extension {
        let words = u16::from_be_bytes([packet[header_len + 2], packet[header_len + 3]]);
        start = 4 * usize::from(words);
    }
    let mut end = plaintext.len();
    if has_padding {
        end = end.saturating_sub(usize::from(plaintext.last().copied().unwrap_or(0)));
    }
    if start > end {
        return Err(Rejected::Decrypt);
    }
    Ok(plaintext[start..end].to_vec())
}

/// The IP discovery answer to `request` from `peer`.
fn discovery_response(request: &[u8], peer: SocketAddr) -> [u8; IP_DISCOVERY_LEN] {
    let mut response = [0u8; IP_DISCOVERY_LEN];
    response[0..2].copy_from_slice(&2u16.to_be_bytes());
    response[2..4].copy_from_slice(&70u16.to_be_bytes());
    response[4..8].copy_from_slice(&request[4..8]);
    let address = peer.ip().to_string();
    response[8..8 + address.len()].copy_from_slice(address.as_bytes());
    response[72..74].copy_from_slice(&peer.port().to_be_bytes());
    response
}

/// Answers IP discovery and decodes voice on a plain thread: decoding is blocking work.
fn serve_udp(socket: &UdpSocket, shared: &Shared) {
    let cipher = Aes256Gcm::new_from_slice(&shared.secret_key).expect("32-byte key");
    let mut decoder = opus2::Decoder::new(48_000, opus2::Channels::Stereo).expect("Opus decoder");
    let mut pcm = vec![0f32; MAX_FRAME_SAMPLES * 2];
    let mut buffer = [0u8; 2048];
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok((len, peer)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let datagram = &buffer[..len];
        if len == IP_DISCOVERY_LEN && datagram[0..2] == [0, 1] {
            let _ = socket.send_to(&discovery_response(datagram, peer), peer);
            continue;
        }
        if let Some(ssrc) = rtp_ssrc(datagram).filter(|&ssrc| ssrc != shared.ssrc) {
            shared.foreign.push(ssrc);
            continue;
        }
        let reason = match open_rtp(datagram, &cipher) {
            Ok(opus) => match decoder.decode_float(&opus, &mut pcm, false) {
                Ok(frames) => {
                    shared.packets.push(ReceivedPacket {
                        pcm: pcm[..frames * 2].to_vec(),
                    });
                    continue;
                }
                Err(error) => format!("Opus decode of {} bytes failed: {error}", opus.len()),
            },
            // Keepalives (8 bytes: the SSRC) and other non-RTP datagrams.
            Err(Rejected::NotRtp) => continue,
            Err(Rejected::Decrypt) => "did not decrypt".to_owned(),
        };
        let sequence = u16::from_be_bytes([datagram[2], datagram[3]]);
        shared
            .rejections
            .push(format!("{len}-byte packet, sequence {sequence}: {reason}"));
    }
}

/// The SSRC of an RTP packet of Discord's payload type, `None` for anything else.
fn rtp_ssrc(datagram: &[u8]) -> Option<u32> {
    (datagram.len() >= RTP_HEADER_LEN
        && datagram[0] >> 6 == 2
        && datagram[1] & 0x7f == RTP_PAYLOAD_TYPE)
        .then(|| u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]))
}

#[cfg(test)]
mod tests;
