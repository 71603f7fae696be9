//! One exchange with a far server: the request, then its answer body, all
//! within the request's timeout and under the body cap.

use std::time::Instant;

use super::Prepared;

/// A far server's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("no answer in time")]
    Timeout,
    #[error("{0}")]
    Network(String),
    #[error("the answer was larger than {0} bytes")]
    TooLarge(usize),
    /// A flow test or `--stub` file has no stub for the request.
    #[error("no stub matches this request")]
    NotStubbed,
}

/// Sends `request` with `client`, reading at most `max_body` bytes back.
pub(super) async fn exchange(
    client: &reqwest::Client,
    request: &Prepared,
    max_body: usize,
) -> Result<Reply, Failure> {
    let started = Instant::now();
    match tokio::time::timeout(request.timeout, exchange_untimed(client, request, max_body)).await {
        Ok(result) => result,
        Err(_) => {
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "timed out"
            );
            Err(Failure::Timeout)
        }
    }
}

async fn exchange_untimed(
    client: &reqwest::Client,
    request: &Prepared,
    max_body: usize,
) -> Result<Reply, Failure> {
    let mut builder = client.request(request.method.clone(), &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = &request.body {
        builder = builder
            .header(reqwest::header::CONTENT_TYPE, body.content_type)
            .body(body.bytes.clone());
    }
    let mut response = builder.send().await.map_err(network)?;
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|length| length > max_body as u64)
    {
        return Err(Failure::TooLarge(max_body));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > max_body {
            return Err(Failure::TooLarge(max_body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Reply { status, body })
}

/// reqwest's error without the URL it names, which may carry a secret.
fn network(error: reqwest::Error) -> Failure {
    let error = error.without_url();
    let kind = if error.is_connect() {
        "cannot connect"
    } else if error.is_timeout() {
        return Failure::Timeout;
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let mut message = kind.to_owned();
    let mut source = std::error::Error::source(&error);
    // The innermost cause says most ("connection refused").
    let mut last = None;
    while let Some(cause) = source {
        last = Some(cause.to_string());
        source = cause.source();
    }
    if let Some(cause) = last {
        message.push_str(": ");
        message.push_str(&cause);
    }
    Failure::Network(message)
}
