//! A scripted authorization server for introspection (RFC 7662) on a loopback port: each
//! request's form `token` is answered with the status and JSON body a closure gives, every
//! request counted. For answers no real server sends (the tests) and for a server whose answer
//! is all that matters (the introspection bench). Shared by them via `#[path]`.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A running server: its introspection URL and the requests it answered.
pub struct Scripted {
    pub url: String,
    pub calls: Arc<AtomicU64>,
}

/// Starts a server (on the current tokio runtime) answering each token with `answer(token)`.
pub async fn start(answer: impl Fn(&str) -> (u16, String) + Send + Sync + 'static) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!(
        "http://{}/introspect",
        listener.local_addr().expect("address")
    );
    let calls = Arc::new(AtomicU64::new(0));
    let answer = Arc::new(answer);
    let counted = calls.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (answer, counted) = (answer.clone(), counted.clone());
            tokio::spawn(async move {
                let Some(body) = read_request(&mut stream).await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let token = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let (status, json) = answer(&token);
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                    json.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    Scripted { url, calls }
}

/// The body of one HTTP/1.1 request: the head, then as many bytes as its Content-Length says.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= len {
                return Some(body.to_owned());
            }
        }
    }
}
