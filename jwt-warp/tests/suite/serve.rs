//! `jwt_warp::serve` (feature `server`) serves an app behind `jwt_warp::service` over TCP.

use crate::support::{Counted, engine, token};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use warp::Filter;

/// One HTTP/1.1 exchange over a fresh connection: the status line and the body.
async fn exchange(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n{auth}connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, body.to_owned())
}

#[tokio::test]
async fn serve_answers_over_tcp_with_the_peer_address() {
    let auth = engine(Counted::default());
    let me = warp::path("me")
        .and(jwt_warp::user_id(&auth))
        .and(warp::ext::get::<jwt_warp::PeerAddr>())
        .map(|user: String, peer: jwt_warp::PeerAddr| format!("{user} from {}", peer.0.ip()))
        .recover(jwt_warp::recover);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn({
        let auth = auth.clone();
        async move { jwt_warp::serve(&auth, warp::service(me), listener).await }
    });
    let (status, body) = exchange(addr, "/me", Some(&token("alice"))).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "alice from 127.0.0.1");
    let (status, body) = exchange(addr, "/me", None).await;
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    assert!(body.contains("Authorization header missing"), "{body}");
    server.abort();
}
