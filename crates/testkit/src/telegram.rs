//! A fake Telegram Bot API on 127.0.0.1: records every request, serves scripted `getUpdates`,
//! answers the methods minstrel calls with plausible results, and can be told to fail.
//!
//! Point a bot at it with `Bot::new(token).set_api_url(fake.api_url())`. Requests arrive as
//! `POST /bot{token}/{Method}`; method names are matched case-insensitively and recorded in
//! lower case (`sendmessage`, `editmessagetext`, …).
//!
//! Like Telegram, it can refuse one chat with flood control ([`FakeTelegram::retry_after_in_chat`]),
//! records when each request arrived ([`RecordedRequest::at`]), and lets a callback query expire:
//! answering one later than [`FakeTelegram::set_callback_expiry`] after it was pushed is refused
//! ("query is too old"), as Telegram refuses it once the user's spinner gave up.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;

/// The fake bot's own user id.
pub const BOT_USER_ID: i64 = 7_000_000_001;
/// The fake bot's username (without `@`).
pub const BOT_USERNAME: &str = "minstrel_test_bot";

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Lower-case method name, e.g. `sendmessage`.
    pub method: String,
    /// The token in the path, exactly as sent.
    pub token: String,
    /// The JSON body (`Value::Null` when there was none).
    pub body: Value,
    /// The `message_id` of the message the fake answered with (`sendMessage`: a new id,
    /// counting up from 100; `editMessageText`: the edited one); `None` when it was refused.
    pub message_id: Option<i64>,
    /// The HTTP status the fake answered with (200, or a scripted error's).
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
}

impl RecordedRequest {
    /// `body.chat_id` as a number, when present.
    pub fn chat_id(&self) -> Option<i64> {
        self.body.get("chat_id").and_then(Value::as_i64)
    }

    /// `body.text`, when present.
    pub fn text(&self) -> Option<&str> {
        self.body.get("text").and_then(Value::as_str)
    }

    /// The fake accepted it (HTTP 200): a sent or edited message exists.
    pub fn accepted(&self) -> bool {
        self.status == 200
    }

    /// A message sent or edited: what Telegram's per-chat limits count.
    pub fn is_chat_message(&self) -> bool {
        self.method == "sendmessage" || self.method == "editmessagetext"
    }
}

/// How long Telegram waits for `answerCallbackQuery` before the button's spinner gives up.
pub const DEFAULT_CALLBACK_EXPIRY: Duration = Duration::from_secs(15);

/// An answered callback query: its id and how long after it was pushed the answer came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    pub id: String,
    pub delay: Duration,
    /// The fake accepted it (it had not expired).
    pub accepted: bool,
}

/// A scripted answer: HTTP status and JSON body.
#[derive(Debug, Clone)]
struct Scripted {
    status: StatusCode,
    body: Value,
    /// `None`: answer every call; `Some(n)`: the next `n` calls.
    remaining: Option<usize>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<RecordedRequest>,
    updates: VecDeque<Value>,
    next_update_id: i64,
    admins: HashSet<(i64, i64)>,
    scripted: HashMap<String, VecDeque<Scripted>>,
    /// Per chat: how many more messages to refuse with a 429, and its `retry_after`.
    chat_flood: HashMap<i64, (usize, u32)>,
    /// When each pushed callback query arrived, by id.
    callbacks: HashMap<String, Instant>,
    callback_expiry: Option<Duration>,
    callback_answers: Vec<CallbackAnswer>,
}

#[derive(Debug)]
struct Shared {
    inner: Mutex<Inner>,
    next_message_id: AtomicI64,
    /// Bumped on every pushed update and every recorded request.
    changes: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changes.send_modify(|count| *count += 1);
    }
}

/// The running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeTelegram {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTelegram {
    /// Starts the fake on a port the OS picks.
    ///
    /// # Panics
    /// When no local port can be bound.
    pub async fn start() -> Self {
        let (changes, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                next_update_id: 1,
                ..Inner::default()
            }),
            next_message_id: AtomicI64::new(100),
            changes,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address");
        let app = Router::new()
            .route("/{bot}/{method}", axum::routing::post(handle))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            shared,
            server,
        }
    }

    /// The base URL to give `Bot::set_api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// Queues an update (its `update_id` is filled in) for the next `getUpdates`.
    pub fn push_update(&self, mut update: Value) {
        {
            let mut inner = self.shared.lock();
            update["update_id"] = json!(inner.next_update_id);
            inner.next_update_id += 1;
            if let Some(id) = update["callback_query"]["id"].as_str() {
                inner.callbacks.insert(id.to_owned(), Instant::now());
            }
            inner.updates.push_back(update);
        }
        self.shared.bump();
    }

    /// Answers the next `times` messages sent or edited in `chat` (only that chat) with
    /// Telegram's flood-control error: HTTP 429 with `retry_after` = `seconds`.
    pub fn retry_after_in_chat(&self, chat: i64, times: usize, seconds: u32) {
        self.shared.lock().chat_flood.insert(chat, (times, seconds));
    }

    /// How long a callback query can wait for its answer (default
    /// [`DEFAULT_CALLBACK_EXPIRY`]); a later answer is refused as too old.
    pub fn set_callback_expiry(&self, expiry: Duration) {
        self.shared.lock().callback_expiry = Some(expiry);
    }

    /// Every `answerCallbackQuery` so far, with how long after its update it came.
    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        self.shared.lock().callback_answers.clone()
    }

    /// When the messages sent or edited in `chat` that the fake accepted arrived, in order.
    pub fn message_times(&self, chat: i64) -> Vec<Instant> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|request| {
                request.is_chat_message() && request.accepted() && request.chat_id() == Some(chat)
            })
            .map(|request| request.at)
            .collect()
    }

    /// Makes `user` an administrator of `chat` for `getChatMember`.
    pub fn set_admin(&self, chat: i64, user: i64) {
        self.shared.lock().admins.insert((chat, user));
    }

    /// Answers every later call of `method` with `status` and `body`.
    pub fn respond_always(&self, method: &str, status: u16, body: Value) {
        self.script(method, status, body, None);
    }

    /// Answers the next `times` calls of `method` with `status` and `body`.
    pub fn respond_times(&self, method: &str, times: usize, status: u16, body: Value) {
        self.script(method, status, body, Some(times));
    }

    /// Answers the next `times` calls of `method` with Telegram's flood-control error: HTTP
    /// 429 with `parameters.retry_after` = `seconds` (see [`retry_after_error`]).
    pub fn retry_after(&self, method: &str, times: usize, seconds: u32) {
        self.respond_times(method, times, 429, retry_after_error(seconds));
    }

    fn script(&self, method: &str, status: u16, body: Value, remaining: Option<usize>) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.shared
            .lock()
            .scripted
            .entry(method.to_lowercase())
            .or_default()
            .push_back(Scripted {
                status,
                body,
                remaining,
            });
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The requests of one method (case-insensitive).
    pub fn requests_of(&self, method: &str) -> Vec<RecordedRequest> {
        let method = method.to_lowercase();
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|request| request.method == method)
            .cloned()
            .collect()
    }

    /// Texts of the `sendMessage` requests to `chat` the fake accepted (refused attempts,
    /// such as a 429, left out), in order.
    pub fn delivered_texts(&self, chat: i64) -> Vec<String> {
        self.requests_of("sendmessage")
            .iter()
            .filter(|request| request.chat_id() == Some(chat) && request.accepted())
            .filter_map(|request| request.text().map(str::to_owned))
            .collect()
    }

    /// Texts sent to `chat` with `sendMessage`, in order (refused attempts included).
    pub fn sent_texts(&self, chat: i64) -> Vec<String> {
        self.requests_of("sendmessage")
            .iter()
            .filter(|request| request.chat_id() == Some(chat))
            .filter_map(|request| request.text().map(str::to_owned))
            .collect()
    }

    /// Waits until `predicate` holds over the recorded requests, or `limit` passes.
    ///
    /// # Panics
    /// When `limit` passes first, with the requests seen so far.
    pub async fn wait_until(
        &self,
        limit: Duration,
        mut predicate: impl FnMut(&[RecordedRequest]) -> bool,
    ) -> Vec<RecordedRequest> {
        let mut changes = self.shared.changes.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let requests = self.requests();
            if predicate(&requests) {
                return requests;
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                let summary: Vec<String> = requests
                    .iter()
                    .map(|request| format!("{} {}", request.method, request.body))
                    .collect();
                panic!(
                    "the fake Bot API did not see the expected requests within {limit:?}; saw:\n{}",
                    summary.join("\n")
                );
            }
        }
    }

    /// Waits until at least `count` requests of `method` arrived; returns them.
    pub async fn wait_for(&self, method: &str, count: usize) -> Vec<RecordedRequest> {
        let lower = method.to_lowercase();
        self.wait_until(Duration::from_secs(10), |requests| {
            requests
                .iter()
                .filter(|request| request.method == lower)
                .count()
                >= count
        })
        .await;
        self.requests_of(method)
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(token) = bot.strip_prefix("bot").map(str::to_owned) else {
        return (StatusCode::NOT_FOUND, "not a bot path").into_response();
    };
    let method = method.to_lowercase();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let scripted = take_scripted(&shared, &method)
        .or_else(|| take_chat_flood(&shared, &method, &body))
        .or_else(|| expired_callback(&shared, &method, &body));
    let message_id = match (method.as_str(), &scripted) {
        ("sendmessage", None) => Some(shared.next_message_id.fetch_add(1, Ordering::Relaxed)),
        ("editmessagetext", None) => body.get("message_id").and_then(Value::as_i64),
        _ => None,
    };
    if method != "getupdates" {
        shared.lock().requests.push(RecordedRequest {
            method: method.clone(),
            token,
            body: body.clone(),
            message_id,
            status: scripted.as_ref().map_or(200, |(status, _)| status.as_u16()),
            at: Instant::now(),
        });
        shared.bump();
    }
    if let Some((status, body)) = scripted {
        return json_response(status, &body);
    }
    let result = match method.as_str() {
        "getupdates" => return get_updates(&shared, &body).await,
        "getme" => bot_user(true),
        "getwebhookinfo" => {
            json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0})
        }
        "sendmessage" | "editmessagetext" => message_from(&body, message_id.unwrap_or(1)),
        "getchatmember" => chat_member(&shared, &body),
        _ => json!(true),
    };
    json_response(StatusCode::OK, &json!({"ok": true, "result": result}))
}

fn take_scripted(shared: &Shared, method: &str) -> Option<(StatusCode, Value)> {
    let mut inner = shared.lock();
    let queue = inner.scripted.get_mut(method)?;
    let front = queue.front_mut()?;
    let answer = (front.status, front.body.clone());
    if let Some(remaining) = front.remaining.as_mut() {
        *remaining = remaining.saturating_sub(1);
        if *remaining == 0 {
            queue.pop_front();
        }
    }
    Some(answer)
}

fn take_chat_flood(shared: &Shared, method: &str, body: &Value) -> Option<(StatusCode, Value)> {
    if method != "sendmessage" && method != "editmessagetext" {
        return None;
    }
    let chat = body.get("chat_id").and_then(Value::as_i64)?;
    let mut inner = shared.lock();
    let (remaining, seconds) = inner.chat_flood.get_mut(&chat)?;
    if *remaining == 0 {
        return None;
    }
    *remaining -= 1;
    Some((StatusCode::TOO_MANY_REQUESTS, retry_after_error(*seconds)))
}

/// Records an `answerCallbackQuery` and refuses it when its query has expired.
fn expired_callback(shared: &Shared, method: &str, body: &Value) -> Option<(StatusCode, Value)> {
    if method != "answercallbackquery" {
        return None;
    }
    let id = body.get("callback_query_id").and_then(Value::as_str)?;
    let mut inner = shared.lock();
    let arrived = inner.callbacks.get(id).copied()?;
    let delay = arrived.elapsed();
    let accepted = delay <= inner.callback_expiry.unwrap_or(DEFAULT_CALLBACK_EXPIRY);
    inner.callback_answers.push(CallbackAnswer {
        id: id.to_owned(),
        delay,
        accepted,
    });
    (!accepted).then(|| {
        (
            StatusCode::BAD_REQUEST,
            api_error(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is \
                 invalid",
            ),
        )
    })
}

/// Long polling: answers at once when updates are queued, otherwise when one is pushed or the
/// client's timeout (at most 2 s, so tests end quickly) passes.
async fn get_updates(shared: &Arc<Shared>, body: &Value) -> Response {
    let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
    let timeout = body.get("timeout").and_then(Value::as_u64).unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout.min(2));
    let mut changes = shared.changes.subscribe();
    loop {
        let updates: Vec<Value> = {
            let mut inner = shared.lock();
            // Telegram forgets updates below the offset: they were confirmed.
            while inner
                .updates
                .front()
                .and_then(|update| update["update_id"].as_i64())
                .is_some_and(|id| id < offset)
            {
                inner.updates.pop_front();
            }
            inner.updates.iter().cloned().collect()
        };
        if !updates.is_empty() {
            return json_response(StatusCode::OK, &json!({"ok": true, "result": updates}));
        }
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            return json_response(StatusCode::OK, &json!({"ok": true, "result": []}));
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn bot_user(with_capabilities: bool) -> Value {
    let mut user = json!({
        "id": BOT_USER_ID,
        "is_bot": true,
        "first_name": "Minstrel",
        "username": BOT_USERNAME,
    });
    if with_capabilities {
        user["can_join_groups"] = json!(true);
        user["can_read_all_group_messages"] = json!(false);
        user["supports_inline_queries"] = json!(false);
        user["has_main_web_app"] = json!(false);
    }
    user
}

fn message_from(body: &Value, message_id: i64) -> Value {
    let chat = body.get("chat_id").and_then(Value::as_i64).unwrap_or(1);
    let mut message = json!({
        "message_id": message_id,
        "date": unix_now(),
        "chat": chat_json(chat),
        "from": bot_user(false),
        "text": body.get("text").cloned().unwrap_or(json!("")),
    });
    if let Some(markup) = body.get("reply_markup") {
        message["reply_markup"] = markup.clone();
    }
    message
}

fn chat_member(shared: &Shared, body: &Value) -> Value {
    let chat = body.get("chat_id").and_then(Value::as_i64).unwrap_or(0);
    let user = body.get("user_id").and_then(Value::as_i64).unwrap_or(0);
    let admin = shared.lock().admins.contains(&(chat, user));
    let user_json = json!({"id": user, "is_bot": false, "first_name": format!("user{user}")});
    if admin {
        json!({"status": "creator", "user": user_json, "is_anonymous": false})
    } else {
        json!({"status": "member", "user": user_json})
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The `chat` object for an id: positive ids are private chats, ids below -10^12 supergroups,
/// other negative ids basic groups.
pub fn chat_json(chat: i64) -> Value {
    if chat > 0 {
        json!({"id": chat, "type": "private", "first_name": format!("user{chat}")})
    } else if chat < -1_000_000_000_000 {
        json!({"id": chat, "type": "supergroup", "title": "Test supergroup"})
    } else {
        json!({"id": chat, "type": "group", "title": "Test group"})
    }
}

/// A Telegram user object.
pub fn user_json(user: i64, first_name: &str) -> Value {
    json!({"id": user, "is_bot": false, "first_name": first_name, "username": format!("u{user}")})
}

/// A `message` update with `text` from `user` in `chat`.
pub fn text_update(chat: i64, user: i64, first_name: &str, text: &str) -> Value {
    let mut message = json!({
        "message_id": 1,
        "date": unix_now(),
        "chat": chat_json(chat),
        "from": user_json(user, first_name),
        "text": text,
    });
    if text.starts_with('/') {
        let command_length = text
            .split_whitespace()
            .next()
            .map_or(0, |word| word.encode_utf16().count());
        message["entities"] =
            json!([{"type": "bot_command", "offset": 0, "length": command_length}]);
    }
    json!({ "message": message })
}

/// Makes every callback query id unique, as Telegram's are.
static NEXT_CALLBACK: AtomicU64 = AtomicU64::new(1);

/// A `callback_query` update: `user` pressed a button with `data` under message `message_id`.
pub fn callback_update(chat: i64, message_id: i64, user: i64, data: &str) -> Value {
    json!({
        "callback_query": {
            "id": format!(
                "cb{message_id}-{user}-{}",
                NEXT_CALLBACK.fetch_add(1, Ordering::Relaxed)
            ),
            "from": user_json(user, &format!("user{user}")),
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": unix_now(),
                "chat": chat_json(chat),
                "from": bot_user(false),
                "text": "now playing",
            },
        }
    })
}

/// The service message Telegram sends in a group that became supergroup `to`.
pub fn migration_update(from: i64, to: i64, user: i64) -> Value {
    json!({
        "message": {
            "message_id": 2,
            "date": unix_now(),
            "chat": chat_json(from),
            "from": user_json(user, "admin"),
            "migrate_to_chat_id": to,
        }
    })
}

/// An error body as the Bot API writes it.
pub fn api_error(code: u16, description: &str) -> Value {
    json!({"ok": false, "error_code": code, "description": description})
}

/// The body of Telegram's flood-control answer (HTTP 429): try again after `seconds`.
pub fn retry_after_error(seconds: u32) -> Value {
    json!({
        "ok": false,
        "error_code": 429,
        "description": format!("Too Many Requests: retry after {seconds}"),
        "parameters": {"retry_after": seconds},
    })
}

/// The body of the 409 a second poller of the same token gets.
pub fn conflict_error() -> Value {
    api_error(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance \
         is running",
    )
}
