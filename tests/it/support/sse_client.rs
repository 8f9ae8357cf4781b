//! A small client for the legacy MCP "HTTP with SSE" transport (protocol 2024-11-05), so that
//! rmcp's own client can talk to our `/sse` endpoint in tests:
//!
//! ```ignore
//! let transport = SseClientTransport::connect("http://127.0.0.1:PORT/sse?session=alpha").await?;
//! let client = rmcp::model::ClientConfig::default().serve(transport).await?;
//! let tools = client.list_tools(Default::default()).await?;
//! ```
//!
//! rmcp removed its SSE client along with the server; this is the smallest thing that does
//! the job: GET the stream, wait for the `endpoint` event, POST each outgoing message to that
//! endpoint (resolved against the stream URL), and yield every `message` event. It also
//! exports [`SseEventParser`] for tests that read the raw stream.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::sync::Arc;

use futures::StreamExt;
use reqwest::{
    Client, Url,
    header::{ACCEPT, HeaderMap},
};
use rmcp::{
    RoleClient,
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::Transport,
};
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

/// How many server messages may wait for the client before the reader stops pulling.
const INCOMING_QUEUE: usize = 64;

/// What went wrong talking to a legacy-SSE server.
#[derive(Debug, thiserror::Error)]
pub enum SseClientError {
    #[error("invalid URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("GET {url} was refused with {status}: {body}")]
    StreamRefused {
        url: Url,
        status: reqwest::StatusCode,
        body: String,
    },
    #[error("the stream ended before the server sent its `endpoint` event")]
    NoEndpoint,
    #[error("POST {url} was refused with {status}: {body}")]
    PostRefused {
        url: Url,
        status: reqwest::StatusCode,
        body: String,
    },
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `message` when absent, as the SSE spec says.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// Incremental parser for `text/event-stream` bodies. Feed it chunks as they arrive; lines
/// may be split anywhere, even inside a UTF-8 character.
#[derive(Debug, Default)]
pub struct SseEventParser {
    pending: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
    /// Comment lines (`: …`) seen so far; the server's keep-alive pings are comments.
    pub comments: usize,
}

impl SseEventParser {
    /// Consumes `chunk` and returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(newline) = self.pending.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.pending.drain(..=newline).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            if line.is_empty() {
                if let Some(event) = self.dispatch() {
                    events.push(event);
                }
                continue;
            }
            if line.starts_with(':') {
                self.comments += 1;
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line.as_ref(), ""),
            };
            match field {
                "event" => self.event = Some(value.to_owned()),
                "data" => self.data.push(value.to_owned()),
                _ => {} // `id:` and `retry:` do not matter to MCP.
            }
        }
        events
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if self.data.is_empty() {
            return None;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        Some(SseEvent {
            event: event.unwrap_or_else(|| "message".to_owned()),
            data,
        })
    }
}

/// Client side of one legacy-SSE connection, usable as an rmcp `Transport<RoleClient>`.
pub struct SseClientTransport {
    http: Client,
    endpoint: Arc<Url>,
    headers: HeaderMap,
    incoming: mpsc::Receiver<ServerJsonRpcMessage>,
    reader: JoinHandle<()>,
}

impl SseClientTransport {
    /// Opens `url` (the server's `/sse` URL, with any `?session=` you want).
    pub async fn connect(url: &str) -> Result<Self, SseClientError> {
        Self::connect_with_headers(url, HeaderMap::new()).await
    }

    /// Like [`Self::connect`], sending `headers` (e.g. `X-Coord-Session`) on the GET and on
    /// every POST, as Claude Code does with the `headers` of an `.mcp.json` entry.
    pub async fn connect_with_headers(
        url: &str,
        headers: HeaderMap,
    ) -> Result<Self, SseClientError> {
        Self::connect_with_client(url, headers, Client::new()).await
    }

    /// Like [`Self::connect_with_headers`], over `http` (one that trusts a test CA, say).
    pub async fn connect_with_client(
        url: &str,
        headers: HeaderMap,
        http: Client,
    ) -> Result<Self, SseClientError> {
        let url = Url::parse(url).map_err(|error| SseClientError::BadUrl {
            url: url.to_owned(),
            reason: error.to_string(),
        })?;
        let response = http
            .get(url.clone())
            .headers(headers.clone())
            .header(ACCEPT, "text/event-stream")
            .send()
            .await?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(SseClientError::StreamRefused { url, status, body });
        }
        let (endpoint_tx, endpoint_rx) = oneshot::channel();
        let (incoming_tx, incoming) = mpsc::channel(INCOMING_QUEUE);
        let reader = tokio::spawn(read_stream(response, endpoint_tx, incoming_tx));
        let Ok(endpoint) = endpoint_rx.await else {
            reader.abort();
            return Err(SseClientError::NoEndpoint);
        };
        let endpoint = url
            .join(&endpoint)
            .map_err(|error| SseClientError::BadUrl {
                url: endpoint,
                reason: error.to_string(),
            })?;
        Ok(Self {
            http,
            endpoint: Arc::new(endpoint),
            headers,
            incoming,
            reader,
        })
    }

    /// The absolute POST URL the server announced.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }
}

impl Drop for SseClientTransport {
    fn drop(&mut self) {
        // Dropping the streaming response closes the GET, which is how the server learns
        // that this client is gone.
        self.reader.abort();
    }
}

impl Transport<RoleClient> for SseClientTransport {
    type Error = SseClientError;

    fn send(
        &mut self,
        item: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let http = self.http.clone();
        let endpoint = self.endpoint.clone();
        let headers = self.headers.clone();
        async move {
            let response = http
                .post(endpoint.as_ref().clone())
                .headers(headers)
                .json(&item)
                .send()
                .await?;
            if response.status().is_success() {
                return Ok(());
            }
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Err(SseClientError::PostRefused {
                url: endpoint.as_ref().clone(),
                status,
                body,
            })
        }
    }

    async fn receive(&mut self) -> Option<ServerJsonRpcMessage> {
        self.incoming.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.reader.abort();
        self.incoming.close();
        Ok(())
    }
}

/// Reads the event stream: hands over the first `endpoint`, forwards `message`s, and ends
/// (closing `incoming`) when the stream ends or the client is dropped.
async fn read_stream(
    response: reqwest::Response,
    endpoint_tx: oneshot::Sender<String>,
    incoming: mpsc::Sender<ServerJsonRpcMessage>,
) {
    let mut endpoint_tx = Some(endpoint_tx);
    let mut parser = SseEventParser::default();
    let mut body = response.bytes_stream();
    while let Some(Ok(chunk)) = body.next().await {
        for event in parser.feed(&chunk) {
            match event.event.as_str() {
                "endpoint" => {
                    if let Some(tx) = endpoint_tx.take() {
                        let _ = tx.send(event.data);
                    }
                }
                "message" => match serde_json::from_str::<ServerJsonRpcMessage>(&event.data) {
                    Ok(message) => {
                        if incoming.send(message).await.is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, data = %event.data, "unparsable SSE message");
                    }
                },
                _ => {}
            }
        }
    }
}
