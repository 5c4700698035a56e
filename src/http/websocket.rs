//! `/graphql/ws`: GraphQL over WebSocket (`graphql-transport-ws`, and the legacy `graphql-ws`).
//!
//! A socket gets what a POST gets: the client address (trusted proxies resolved) for every
//! throttle, the same policy (document limits, a READ token's refusal of mutations,
//! the credential checked as of each operation) and the same error codes. On top of that, a
//! socket lives long, so this module watches its credential for as long as it is open: when it
//! expires or is revoked (logout, password change, revoked access token; on any instance), the
//! socket is closed with 4403 at once, without waiting for the client's next message.
//!
//! The `graphql-transport-ws` close codes are the protocol's: 4400 for an invalid message, 4401
//! for an operation before the acknowledgement, 4403 for a bad credential, 4408 for no
//! `connection_init` within `TALLY_WS_INIT_TIMEOUT_SECS`, 4409 for a second operation with a
//! running id, 4429 for a second `connection_init`; 1001 when the server shuts down. At most
//! 100 operations run on one socket at once; one more is answered with an `error` message
//! (RATE_LIMITED) for its id, and the socket stays open. The handshake itself counts against
//! its address's request rate, and an address holds at most `TALLY_SOCKETS_PER_ADDRESS` sockets
//! open (both refused with 429 and `Retry-After` before the upgrade).
//!
//! async-graphql speaks the protocols; this module owns the loop around it so it can close the
//! socket on its own initiative.

use std::{
    future,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use async_graphql::{
    Data, Executor, Request, Response,
    http::{WebSocket as GraphQLSocket, WebSocketProtocols, WsMessage},
};
use axum::{
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};
use futures_util::{SinkExt, StreamExt, stream::BoxStream};
use tokio::sync::watch;
use tower_http::request_id::RequestId;
use tracing::Instrument;

use super::{HttpState, MAX_BODY_BYTES, client_address, label_errors};
use crate::{
    graphql::{accounts::ClientAddress, gateway::Gateway},
    service::{Actor, access_tokens, rate_limit::SocketPermit},
    state::AppState,
};

/// Bytes read from a socket at a time.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// The close code for a credential that is missing, bad, expired or revoked
/// (`graphql-transport-ws`'s "Forbidden").
const FORBIDDEN: u16 = 4403;
/// The close code for a socket that sent no `connection_init` in time.
const INIT_TIMEOUT: u16 = 4408;
/// The close code for a server going away (shutting down).
const GOING_AWAY: u16 = 1001;
/// A close frame's payload is at most 125 bytes, two of them the code (RFC 6455 §5.5).
const MAX_CLOSE_REASON_BYTES: usize = 123;
/// `graphql-transport-ws` close codes async-graphql does not send (it uses 1002 and 1011, or
/// replaces a running operation silently).
const INVALID_MESSAGE: u16 = 4400;
const UNAUTHORIZED: u16 = 4401;
const DUPLICATE_OPERATION: u16 = 4409;

/// The close code `graphql-transport-ws` prescribes for a close async-graphql decided:
/// 4403 for a refused `connection_init`, 4401 for an operation before the acknowledgement,
/// 4400 for a message that is not one of the protocol's. The legacy protocol keeps its codes.
fn protocol_close_code(protocol: WebSocketProtocols, init: Init, code: u16) -> u16 {
    if matches!(init, Init::Refused) {
        return FORBIDDEN;
    }
    if protocol != WebSocketProtocols::GraphQLWS {
        return code;
    }
    match code {
        1011 => UNAUTHORIZED,
        1002 => INVALID_MESSAGE,
        other => other,
    }
}

/// The ids of the operations running on a socket, seen from both directions: a client
/// `subscribe` (legacy: `start`) starts one, a client `complete` (`stop`) or a server
/// `complete` or `error` ends it.
#[derive(Clone, Default)]
struct Operations(Arc<std::sync::Mutex<std::collections::HashSet<String>>>);

/// The two fields of a protocol message this module reads.
#[derive(serde::Deserialize)]
struct Envelope {
    r#type: String,
    id: Option<String>,
}

/// Operations one socket may run at once: each holds a watch on a book and some memory, so a
/// client cannot open them without end on one connection.
const MAX_OPERATIONS: usize = 100;

/// Why a client's operation is not passed on.
enum Refusal {
    /// `graphql-transport-ws`: a `subscribe` whose id is already running (closes with 4409).
    Duplicate(String),
    /// More than [`MAX_OPERATIONS`] at once (answered with an error for that id).
    TooMany(String),
}

impl Operations {
    /// Notes a client message: `Err` for an operation that must not start.
    fn client_sent(&self, protocol: WebSocketProtocols, bytes: &[u8]) -> Result<(), Refusal> {
        let (start, stop) = match protocol {
            WebSocketProtocols::GraphQLWS => ("subscribe", "complete"),
            // The legacy protocol replaces an operation whose id is started again.
            _ => ("start", "stop"),
        };
        let Ok(Envelope {
            r#type,
            id: Some(id),
        }) = serde_json::from_slice(bytes)
        else {
            return Ok(());
        };
        let Ok(mut running) = self.0.lock() else {
            return Ok(());
        };
        let kind = r#type.as_str();
        if kind == start {
            if running.contains(&id) {
                return match protocol {
                    WebSocketProtocols::GraphQLWS => Err(Refusal::Duplicate(id)),
                    _ => Ok(()),
                };
            }
            if running.len() >= MAX_OPERATIONS {
                return Err(Refusal::TooMany(id));
            }
            running.insert(id);
        } else if kind == stop {
            running.remove(&id);
        }
        Ok(())
    }

    /// Notes a server message: `complete` and `error` end their operation.
    fn server_sent(&self, text: &str) {
        let Ok(Envelope {
            r#type,
            id: Some(id),
        }) = serde_json::from_str(text)
        else {
            return;
        };
        if matches!(r#type.as_str(), "complete" | "error")
            && let Ok(mut running) = self.0.lock()
        {
            running.remove(&id);
        }
    }
}

pub(super) async fn upgrade(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request_id: Option<axum::Extension<RequestId>>,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let Some(protocol) = subprotocol(&headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the graphql-transport-ws (or graphql-ws) subprotocol",
        )
            .into_response();
    };
    if !origin_allowed(&headers, &state.app.config.cors_origins) {
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open a WebSocket here",
        )
            .into_response();
    }
    let client = client_address::resolve(peer, &headers, &state.app.config.trusted_proxies);
    let permit = match state.app.rate_limits.open_socket(client) {
        Ok(permit) => permit,
        Err(error) => return super::refused_handshake(error),
    };
    upgrade
        // The HTTP body limit, for messages too (axum's default is 64 MiB).
        .max_message_size(MAX_BODY_BYTES)
        .max_frame_size(MAX_BODY_BYTES)
        // tungstenite's default 128 KiB read buffer is zero-filled on every read and held per
        // socket: with many idle subscribers it dominated both CPU per event and memory
        // (bench/subscriptions.py). Client messages are small; a larger one still arrives
        // whole, in several reads.
        .read_buffer_size(READ_BUFFER_BYTES)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            // The socket runs as a task of its own: it keeps the handshake's span, so every line
            // logged for its operations carries the handshake's request id, as does every
            // INTERNAL error it answers.
            let request_id = super::request_id_text(request_id);
            serve(socket, state, protocol, client, permit, request_id)
                .instrument(tracing::Span::current())
        })
}

/// The first GraphQL subprotocol the client offers.
fn subprotocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|protocol| protocol.trim().parse().ok())
}

/// Browsers let any page open a WebSocket to any host (CORS does not apply), so a socket whose
/// `Origin` is neither this host nor a configured origin is refused before the upgrade
/// (cross-site WebSocket hijacking). Clients that are not browsers send no `Origin` and pass.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return true;
    };
    if allowed.iter().any(|allowed| allowed == origin) {
        return true;
    }
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    origin_host.is_some() && origin_host == host
}

/// Where the socket's `connection_init` stands.
#[derive(Clone, Copy)]
enum Init {
    Pending,
    /// Accepted, with the actor it authenticated (none: an anonymous socket).
    Accepted(Option<Actor>),
    /// Refused: the credential was bad.
    Refused,
}

/// Serves one socket; `_permit` holds its place in its address's socket count until it ends.
async fn serve(
    socket: WebSocket,
    state: HttpState,
    protocol: WebSocketProtocols,
    client: IpAddr,
    _permit: SocketPermit,
    request_id: String,
) {
    let _open = crate::observability::Open::count("tally_websocket_connections");
    let (mut sink, stream) = socket.split();
    let operations = Operations::default();
    // Refusals the loop answers; bounded: a client flooding refused operations loses answers,
    // never grows the queue.
    let (refused_tx, mut refused_rx) = tokio::sync::mpsc::channel::<Refusal>(16);
    let watched = operations.clone();
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(move |message| {
            let bytes = match message {
                Ok(Message::Text(text)) => Some(axum::body::Bytes::from(text)),
                Ok(Message::Binary(bytes)) => Some(bytes),
                _ => None,
            };
            // A refused operation is not passed on: the loop answers it.
            let bytes = bytes.filter(|bytes| match watched.client_sent(protocol, bytes) {
                Ok(()) => true,
                Err(refusal) => {
                    let _ = refused_tx.try_send(refusal);
                    false
                }
            });
            future::ready(bytes)
        });
    let (init_tx, mut init_rx) = watch::channel(Init::Pending);
    let app = state.app.clone();
    let mut connection = Data::default();
    connection.insert(ClientAddress(client));
    let output = GraphQLSocket::new(
        Labelled {
            gateway: state.gateway,
            request_id,
        },
        input,
        protocol,
    )
    .connection_data(connection)
    .on_connection_init(move |payload| async move {
        let init = connection_init(&app, payload).await;
        let _ = init_tx.send(match &init {
            Ok((_, actor)) => Init::Accepted(*actor),
            Err(_) => Init::Refused,
        });
        init.map(|(data, _)| data).map_err(Into::into)
    });
    futures_util::pin_mut!(output);
    let mut revocations = state.app.events.revocations();
    let mut revocations_open = true;
    let mut stopping = state.app.stopping.clone();
    let init_deadline = tokio::time::sleep(state.app.config.ws_init_timeout);
    futures_util::pin_mut!(init_deadline);
    let mut init_pending = true;
    loop {
        let init = *init_rx.borrow();
        let actor = match init {
            Init::Accepted(actor) => actor,
            Init::Pending | Init::Refused => None,
        };
        let expiry = async move {
            let remaining = actor.and_then(|actor| actor.expires_at).map(|expires_at| {
                (expires_at - crate::service::now())
                    .to_std()
                    .unwrap_or_default()
            });
            match remaining {
                Some(remaining) => tokio::time::sleep(remaining).await,
                None => future::pending().await,
            }
        };
        tokio::select! {
            message = output.next() => {
                let Some(message) = message else { break };
                let frame = match message {
                    WsMessage::Text(text) => {
                        operations.server_sent(&text);
                        Message::Text(text.into())
                    }
                    WsMessage::Close(code, reason) => {
                        // Read now: a refusal was recorded while this message was made.
                        let init = *init_rx.borrow();
                        let code = protocol_close_code(protocol, init, code);
                        close_frame(code, &reason)
                    }
                };
                if sink.send(frame).await.is_err() {
                    break;
                }
            }
            () = expiry => {
                close(&mut sink, FORBIDDEN, "the credential expired").await;
                break;
            }
            () = &mut init_deadline, if matches!(init, Init::Pending) => {
                close(&mut sink, INIT_TIMEOUT, "connection_init did not arrive in time").await;
                break;
            }
            changed = stopping.changed() => {
                // An error means the server itself is gone: going away all the same.
                if changed.is_err() || *stopping.borrow() {
                    close(&mut sink, GOING_AWAY, "the server is shutting down").await;
                    break;
                }
            }
            changed = revocations.changed(), if revocations_open => {
                // Any revocation (on any instance) may concern this socket.
                revocations_open = changed.is_ok();
                let revoked = revocations_open && actor
                    .is_some_and(|actor| access_tokens::ensure_current(&state.app, &actor).is_err());
                if revoked {
                    close(&mut sink, FORBIDDEN, "the credential was revoked").await;
                    break;
                }
            }
            Some(refusal) = refused_rx.recv() => match refusal {
                Refusal::Duplicate(id) => {
                    let reason = format!("an operation with id {id} is already running");
                    close(&mut sink, DUPLICATE_OPERATION, &reason).await;
                    break;
                }
                Refusal::TooMany(id) => {
                    if sink.send(Message::Text(too_many(protocol, &id).into())).await.is_err() {
                        break;
                    }
                }
            },
            changed = init_rx.changed(), if init_pending => {
                // The sender goes away once `connection_init` has been answered.
                init_pending = changed.is_ok();
            }
        }
    }
}

/// The protocol's `error` message for an operation refused because the socket runs too many.
fn too_many(protocol: WebSocketProtocols, id: &str) -> String {
    let message = format!("at most {MAX_OPERATIONS} operations may run on one socket");
    let error = serde_json::json!({ "message": message, "extensions": { "code": "RATE_LIMITED" } });
    let payload = match protocol {
        WebSocketProtocols::GraphQLWS => serde_json::json!([error]),
        _ => error,
    };
    serde_json::json!({ "id": id, "type": "error", "payload": payload }).to_string()
}

async fn close<S>(sink: &mut S, code: u16, reason: &str)
where
    S: futures_util::Sink<Message> + Unpin,
{
    let _ = sink.send(close_frame(code, reason)).await;
}

/// A close frame; its reason is cut to the 123 bytes a frame can carry (a longer one, such as a
/// parser's message, would make the close itself fail).
fn close_frame(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(MAX_CLOSE_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}

/// Authenticates a socket from its `connection_init` payload: `{"Authorization": "Bearer …"}`
/// (or `authorization`, or `authToken`). Without credentials the connection stays anonymous.
async fn connection_init(
    app: &AppState,
    payload: serde_json::Value,
) -> Result<(Data, Option<Actor>), crate::error::AppError> {
    let mut data = Data::default();
    let bearer = ["Authorization", "authorization", "authToken"]
        .iter()
        .find_map(|key| payload.get(key).and_then(serde_json::Value::as_str))
        .map(|value| {
            value
                .strip_prefix("Bearer ")
                .unwrap_or(value)
                .trim()
                .to_owned()
        });
    let Some(bearer) = bearer else {
        return Ok((data, None));
    };
    let actor = access_tokens::authenticate(app, &bearer).await?;
    data.insert(actor);
    Ok((data, Some(actor)))
}

/// The gateway, with every answer's errors given stable codes as over HTTP; an INTERNAL error
/// names the socket's request id (its handshake's), which its log lines carry.
#[derive(Clone)]
struct Labelled {
    gateway: Gateway,
    request_id: String,
}

impl Executor for Labelled {
    async fn execute(&self, request: Request) -> Response {
        let mut response = self.gateway.execute(request).await;
        label_errors(&mut response.errors, &self.request_id);
        response
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let request_id = self.request_id.clone();
        self.gateway
            .execute_stream(request, session_data)
            .map(move |mut response| {
                label_errors(&mut response.errors, &request_id);
                response
            })
            .boxed()
    }
}
