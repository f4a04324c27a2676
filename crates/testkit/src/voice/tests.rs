//! A minimal client doing what songbird 0.6 does on the wire (see `driver/connection/mod.rs`
//! and `driver/crypto.rs` there), so the fake is proven against the same layout.

use std::f64::consts::PI;
use std::sync::Arc;

use aes_gcm::aead::{AeadInPlace as _, KeyInit as _};
use aes_gcm::{Aes256Gcm, Nonce};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::{FakeVoiceServer, MODE, Rejected, open_rtp};
use crate::audio::{self, goertzel_power, rms};
use crate::recorder::WAIT;

type VoiceSocket = WebSocketStream<TlsStream<TcpStream>>;

const FRAME: usize = 960;
const SAMPLE_RATE: f64 = 48_000.0;

/// TLS that trusts only the server's CA file, then the websocket upgrade, as songbird does.
async fn connect(server: &FakeVoiceServer) -> VoiceSocket {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(server.ca_file()).expect("open the CA file") {
        roots.add(cert.expect("a PEM certificate")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.endpoint())
        .await
        .expect("connect to the fake voice server");
    let name = ServerName::try_from("localhost").expect("server name");
    let tls = connector
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the CA file as the only root");
    let url = format!("wss://{}/?v=4", server.endpoint());
    let (socket, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("websocket upgrade");
    socket
}

async fn send(socket: &mut VoiceSocket, payload: &Value) {
    socket
        .send(Message::Text(payload.to_string().into()))
        .await
        .expect("send a voice payload");
}

/// The next text payload, or the close frame's code as `{"close": code}`.
async fn next(socket: &mut VoiceSocket) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a voice payload in time")
            .expect("the socket stays open")
            .expect("a websocket message");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON payload"),
            Message::Close(frame) => {
                return json!({"close": frame.map(|frame| u16::from(frame.code))});
            }
            _ => {}
        }
    }
}

/// Reads payloads until one with each of `ops` arrived (in any order); returns them by op.
async fn expect_ops(socket: &mut VoiceSocket, ops: &[u64]) -> Vec<Value> {
    let mut found: Vec<Option<Value>> = vec![None; ops.len()];
    while found.iter().any(Option::is_none) {
        let payload = next(socket).await;
        if let Some(index) = ops
            .iter()
            .position(|op| payload["op"].as_u64() == Some(*op))
        {
            found[index] = Some(payload);
        }
    }
    found.into_iter().flatten().collect()
}

fn identify() -> Value {
    json!({"op": 0, "d": {
        "server_id": "1", "session_id": "voice-session", "token": "voice-token",
        "user_id": "2", "max_dave_protocol_version": 1,
    }})
}

#[expect(
    clippy::cast_precision_loss,
    reason = "sample indices are far below 2^52"
)]
fn tone(hz: f64, frames: usize) -> Vec<f32> {
    (0..frames)
        .flat_map(|index| {
            #[expect(clippy::cast_possible_truncation, reason = "an amplitude in -0.5..0.5")]
            let sample = (0.5 * (2.0 * PI * hz * index as f64 / SAMPLE_RATE).sin()) as f32;
            [sample, sample]
        })
        .collect()
}

/// Seals one RTP packet the way songbird's mixer does for `aead_aes256_gcm_rtpsize`:
/// header ‖ AES-256-GCM(opus, aad = header, nonce = counter ‖ 0⁸) ‖ tag ‖ counter (BE).
fn seal(key: &[u8], header: &[u8], clear_body: &[u8], counter: u32) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key).expect("32-byte key");
    let mut nonce = Nonce::default();
    nonce[..4].copy_from_slice(&counter.to_be_bytes());
    let mut body = clear_body.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(&nonce, header, &mut body)
        .expect("encrypt");
    [header, &body, &tag, &counter.to_be_bytes()].concat()
}

fn rtp_header(sequence: u16, timestamp: u32, ssrc: u32) -> Vec<u8> {
    let mut header = vec![0x80, 120];
    header.extend_from_slice(&sequence.to_be_bytes());
    header.extend_from_slice(&timestamp.to_be_bytes());
    header.extend_from_slice(&ssrc.to_be_bytes());
    header
}

/// IP discovery from a fresh UDP socket, as songbird's `Connection::new_inner` does it.
async fn discover_address(ssrc: u32, udp_port: u16) -> UdpSocket {
    let udp = UdpSocket::bind("127.0.0.1:0").await.expect("client UDP");
    udp.connect(("127.0.0.1", udp_port))
        .await
        .expect("UDP connect");
    let mut request = [0u8; 74];
    request[0..2].copy_from_slice(&1u16.to_be_bytes());
    request[2..4].copy_from_slice(&70u16.to_be_bytes());
    request[4..8].copy_from_slice(&ssrc.to_be_bytes());
    udp.send(&request).await.expect("send discovery");
    let mut response = [0u8; 128];
    let len = tokio::time::timeout(WAIT, udp.recv(&mut response))
        .await
        .expect("discovery answer in time")
        .expect("discovery answer");
    assert_eq!(len, 74);
    assert_eq!(response[0..2], 2u16.to_be_bytes());
    assert_eq!(response[2..4], 70u16.to_be_bytes());
    assert_eq!(response[4..8], ssrc.to_be_bytes());
    let address_end = response[8..72].iter().position(|b| *b == 0).expect("NUL") + 8;
    assert_eq!(&response[8..address_end], b"127.0.0.1");
    let local_port = udp.local_addr().expect("client address").port();
    assert_eq!(u16::from_be_bytes([response[72], response[73]]), local_port);
    udp
}

#[tokio::test]
async fn songbird_handshake_then_one_encrypted_opus_frame_decodes_to_440_hz() {
    let server = FakeVoiceServer::start().await;
    let mut socket = connect(&server).await;

    send(&mut socket, &identify()).await;
    let answers = expect_ops(&mut socket, &[8, 2]).await;
    assert!(answers[0]["d"]["heartbeat_interval"].as_f64().is_some());
    let ready = &answers[1]["d"];
    assert_eq!(ready["ip"], "127.0.0.1");
    assert_eq!(ready["modes"], json!([MODE]));
    let ssrc = u32::try_from(ready["ssrc"].as_u64().expect("ssrc")).expect("u32 ssrc");
    let udp_port = u16::try_from(ready["port"].as_u64().expect("port")).expect("u16 port");
    assert_eq!(ssrc, server.ssrc());
    assert_eq!(server.identified()[0]["token"], "voice-token");

    let udp = discover_address(ssrc, udp_port).await;
    let local_port = udp.local_addr().expect("client address").port();

    send(
        &mut socket,
        &json!({"op": 1, "d": {"protocol": "udp", "data": {
            "address": "127.0.0.1", "port": local_port, "mode": MODE,
        }}}),
    )
    .await;
    let description = &expect_ops(&mut socket, &[4]).await[0]["d"];
    assert_eq!(description["mode"], MODE);
    assert_eq!(description["dave_protocol_version"], 0);
    let key: Vec<u8> = serde_json::from_value(description["secret_key"].clone()).expect("key");
    assert_eq!(key.len(), 32);

    // Heartbeat: voice gateway v4 sends the nonce as `d` and expects it echoed.
    send(&mut socket, &json!({"op": 3, "d": 1_234_567_u64})).await;
    assert_eq!(expect_ops(&mut socket, &[6]).await[0]["d"], 1_234_567_u64);
    send(
        &mut socket,
        &json!({"op": 5, "d": {"speaking": 1, "delay": 0, "ssrc": ssrc}}),
    )
    .await;

    let mut encoder =
        opus2::Encoder::new(48_000, opus2::Channels::Stereo, opus2::Application::Audio)
            .expect("Opus encoder");
    let opus = encoder
        .encode_vec_float(&tone(440.0, FRAME), 4_000)
        .expect("encode one 20 ms frame");
    let counter = 0xFFFF_FFF0_u32;
    let packet = seal(&key, &rtp_header(7, 960 * 7, ssrc), &opus, counter);
    udp.send(&packet).await.expect("send RTP");

    assert_eq!(server.wait_for_packets(1, WAIT).await, 1);
    let decoded = server.decoded();
    assert_eq!(decoded.len(), FRAME * 2, "960 stereo frames");
    // The codec delays its output by ~6.5 ms; measure the part after it.
    let left: Vec<f32> = decoded.iter().step_by(2).skip(FRAME / 3).copied().collect();
    assert!(rms(&left) > 0.1, "the tone is audible: rms {}", rms(&left));
    let at_440 = goertzel_power(&left, 440.0, audio::SAMPLE_RATE);
    for other in [110.0, 220.0, 880.0, 1_760.0, 5_000.0] {
        let elsewhere = goertzel_power(&left, other, audio::SAMPLE_RATE);
        assert!(
            at_440 > 20.0 * elsewhere,
            "440 Hz dominates {other} Hz: {at_440} vs {elsewhere}"
        );
    }

    // The silence frame songbird sends after a track ends.
    let silence = seal(
        &key,
        &rtp_header(8, 960 * 8, ssrc),
        &[0xF8, 0xFF, 0xFE],
        counter.wrapping_add(1),
    );
    udp.send(&silence).await.expect("send silence");
    assert_eq!(server.wait_for_packets(2, WAIT).await, 2);
    let decoded = server.decoded();
    assert_eq!(decoded.len(), FRAME * 4);
    assert!(
        rms(&decoded[FRAME * 2 + FRAME..]) < 0.01,
        "silence decodes to silence"
    );

    // An 8-byte keepalive is no audio and no error.
    udp.send(&ssrc.to_be_bytes().repeat(2))
        .await
        .expect("keepalive");
    server.wait_for_op(5, 1).await;
    let client_ops: Vec<u64> = server
        .received()
        .iter()
        .filter_map(|payload| payload["op"].as_u64())
        .collect();
    assert_eq!(client_ops, [0, 1, 3, 5]);
    assert_eq!(server.rejected_packets(), 0);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn scripted_close_then_resume_is_answered_with_hello_and_resumed() {
    let server = FakeVoiceServer::start().await;
    let mut socket = connect(&server).await;
    send(&mut socket, &identify()).await;
    expect_ops(&mut socket, &[8, 2]).await;

    assert!(server.close(4015));
    let closed = loop {
        let payload = next(&mut socket).await;
        if payload.get("close").is_some() {
            break payload;
        }
    };
    assert_eq!(closed["close"], 4015);

    let mut socket = connect(&server).await;
    send(
        &mut socket,
        &json!({"op": 7, "d": {"server_id": "1", "session_id": "voice-session", "token": "voice-token"}}),
    )
    .await;
    let answers = expect_ops(&mut socket, &[8, 9]).await;
    assert!(
        answers[1].get("d").is_some_and(Value::is_null),
        "Resumed carries d: null"
    );
    assert_eq!(server.wait_for_op(7, 1).await["d"]["token"], "voice-token");
    assert_eq!(server.connections(), 2);
    assert_eq!(server.identified().len(), 1);
}

#[test]
fn rtp_with_an_extension_keeps_the_preamble_clear_and_strips_the_extension_words() {
    let key = [9u8; 32];
    let cipher = Aes256Gcm::new_from_slice(&key).expect("key");
    let mut clear = rtp_header(1, 960, 42);
    clear[0] |= 0x10;
    clear.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01]);
    let body = [&[1u8, 2, 3, 4][..], b"opus"].concat();
    let packet = seal(&key, &clear, &body, 5);
    assert_eq!(open_rtp(&packet, &cipher), Ok(b"opus".to_vec()));

    let mut tampered = packet.clone();
    tampered[13] ^= 1;
    assert_eq!(open_rtp(&tampered, &cipher), Err(Rejected::Decrypt));
    assert_eq!(open_rtp(&[0u8; 8], &cipher), Err(Rejected::NotRtp));
}
