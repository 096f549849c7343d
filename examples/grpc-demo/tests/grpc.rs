//! A real tonic client against the real tonic server on 127.0.0.1, through jwt-axum's tower
//! layer: every refusal arrives as the gRPC status it means, with the RFC 6750 challenge in
//! `www-authenticate` metadata, and allowed calls reach handlers that see the caller.

use std::time::{SystemTime, UNIX_EPOCH};

use grpc_demo::{
    AgentsClient, ListRequest, RunRequest, WhoAmIReply, WhoAmIRequest, route_table, with_token,
};
use jwt_core::{Algorithm, EncodingKey, JwtAuth, Verified, Verifier, VerifyError, mint};
use tonic::transport::Channel;
use tonic::{Code, Status};

const SECRET: &[u8] = b"grpc-test-secret-of-at-least-32-bytes!!";

fn token_at(sub: &str, scopes: &[&str], exp_from_now: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = serde_json::json!({"sub": sub, "exp": now + exp_from_now, "scopes": scopes});
    mint::sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET),
        None,
        None,
        &claims,
    )
    .unwrap()
}

fn token(sub: &str, scopes: &[&str]) -> String {
    token_at(sub, scopes, 600)
}

/// Starts the service behind `auth` on a loopback port and connects to it; the server stops
/// with the test's runtime.
async fn start(auth: JwtAuth) -> Channel {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(grpc_demo::serve(listener, auth));
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn client() -> AgentsClient<Channel> {
    AgentsClient::new(start(grpc_demo::auth(SECRET).unwrap()).await)
}

fn challenge(status: &Status) -> String {
    status
        .metadata()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn grpc_allowed_calls_reach_handlers_that_see_the_caller() {
    let mut c = client().await;
    let alice = token("alice", &["agents:read", "agents:agent-1:run"]);
    let me = c
        .whoami(with_token(WhoAmIRequest {}, &alice).unwrap())
        .await
        .unwrap();
    assert_eq!(
        me.into_inner(),
        WhoAmIReply {
            user_id: "alice".into(),
            scopes: vec!["agents:read".into(), "agents:agent-1:run".into()],
        }
    );
    let listed = c
        .list(with_token(ListRequest {}, &alice).unwrap())
        .await
        .unwrap();
    assert_eq!(
        listed.into_inner().agent_ids,
        ["agent-1", "agent-2", "agent-3"]
    );
    let run = RunRequest {
        agent_id: "agent-1".into(),
        input: "hi".into(),
    };
    let ran = c
        .run(with_token(run, &alice).unwrap())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ran.user_id, "alice");
}

#[tokio::test]
async fn grpc_missing_token_is_unauthenticated_with_a_challenge() {
    let mut c = client().await;
    let status = c.list(ListRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "Authorization header missing");
    assert_eq!(challenge(&status), r#"Bearer realm="api""#);
}

#[tokio::test]
async fn grpc_bad_and_expired_tokens_are_unauthenticated() {
    let mut c = client().await;
    for bad in [
        "not.a.token".to_owned(),
        token_at("alice", &["agents:read"], -600),
    ] {
        let status = c
            .list(with_token(ListRequest {}, &bad).unwrap())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{bad}");
        assert!(
            challenge(&status).contains(r#"error="invalid_token""#),
            "{}",
            challenge(&status)
        );
    }
    let forged = {
        let t = token("alice", &["agents:read"]);
        format!("{}x", &t[..t.len() - 1])
    };
    let status = c
        .list(with_token(ListRequest {}, &forged).unwrap())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn grpc_missing_scope_is_permission_denied() {
    let mut c = client().await;
    let bob = token("bob", &["agents:agent-2:run"]);
    let status = c
        .list(with_token(ListRequest {}, &bob).unwrap())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        status.message(),
        "Insufficient permissions. Required scope(s): agents:read"
    );
    assert!(challenge(&status).contains(r#"error="insufficient_scope", scope="agents:read""#));
    // The per-agent check in the handler: the same status.
    let run = RunRequest {
        agent_id: "agent-1".into(),
        input: String::new(),
    };
    let status = c.run(with_token(run, &bob).unwrap()).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn grpc_a_method_the_table_does_not_list_is_refused_even_to_an_admin() {
    let channel = start(grpc_demo::auth(SECRET).unwrap()).await;
    let admin = token("root", &["agent_os:admin"]);
    // Another method of the same service, and another service, through tonic's generic client.
    for path in ["/agents.v1.Agents/Delete", "/other.v1.Other/Run"] {
        let status = unary_to(&channel, path, &admin).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{path}");
        assert_eq!(status.message(), "Access denied: route not permitted");
        let status = unary_to(&channel, path, "").await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{path}");
    }
}

/// Calls `path` with an empty message through the generic gRPC client.
async fn unary_to(
    channel: &Channel,
    path: &'static str,
    token: &str,
) -> Result<WhoAmIReply, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(e.to_string()))?;
    let req = if token.is_empty() {
        tonic::Request::new(WhoAmIRequest {})
    } else {
        with_token(WhoAmIRequest {}, token)?
    };
    let codec = tonic_prost::ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
    grpc.unary(req, http::uri::PathAndQuery::from_static(path), codec)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn grpc_a_malformed_authorization_is_invalid_argument() {
    let mut c = client().await;
    let mut req = tonic::Request::new(ListRequest {});
    req.metadata_mut()
        .insert("authorization", "Bearer two tokens".parse().unwrap());
    let status = c.list(req).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(challenge(&status).contains(r#"error="invalid_request""#));
}

/// A key source that is down (a JWKS endpoint that cannot be reached).
#[derive(Debug)]
struct KeysDown;

#[async_trait::async_trait]
impl Verifier for KeysDown {
    async fn verify(&self, _token: &str) -> Result<Verified, VerifyError> {
        Err(VerifyError::Unavailable)
    }
}

#[tokio::test]
async fn grpc_unavailable_keys_are_unavailable_with_retry_after() {
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(KeysDown)
        .scopes(route_table().unwrap())
        .build()
        .unwrap();
    let mut c = AgentsClient::new(start(auth).await);
    let status = c
        .list(with_token(ListRequest {}, &token("alice", &["agents:read"])).unwrap())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        status.message(),
        "Authentication is temporarily unavailable"
    );
    assert!(status.metadata().get("retry-after").is_some());
    assert!(challenge(&status).is_empty(), "a 503 has no challenge");
}
