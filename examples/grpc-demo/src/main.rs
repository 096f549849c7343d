//! `cargo run -p grpc-demo`: serves the agents service behind the JWT layer on a loopback port,
//! then calls it with a tonic client as four callers (allowed, no token, a bad token, a token
//! without the scope) and prints the gRPC status each gets.

use std::time::{SystemTime, UNIX_EPOCH};

use grpc_demo::{AgentsClient, ListRequest, RunRequest, WhoAmIRequest, with_token};
use jwt_core::{Algorithm, EncodingKey, mint};
use tonic::Status;

fn token(secret: &[u8], sub: &str, scopes: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let exp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 600;
    let claims = serde_json::json!({"sub": sub, "exp": exp, "scopes": scopes});
    Ok(mint::sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(secret),
        None,
        Some("JWT"),
        &claims,
    )?)
}

fn show<T: std::fmt::Debug>(what: &str, result: Result<tonic::Response<T>, Status>) {
    match result {
        Ok(res) => println!("{what:48} OK {:?}", res.into_inner()),
        Err(status) => {
            let challenge = status
                .metadata()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            println!(
                "{what:48} {:?} ({}) {:?}; www-authenticate: {challenge}",
                status.code(),
                status.code() as i32,
                status.message()
            );
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("JWT_SECRET")
        .unwrap_or_else(|_| "grpc-demo-secret-of-at-least-32-bytes!".to_owned());
    let auth = grpc_demo::auth(secret.as_bytes())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(grpc_demo::serve(listener, auth));
    println!("agents.v1.Agents on http://{addr}");

    let mut client = AgentsClient::connect(format!("http://{addr}")).await?;
    let alice = token(
        secret.as_bytes(),
        "alice",
        &["agents:read", "agents:agent-1:run"],
    )?;
    let bob = token(secret.as_bytes(), "bob", &["agents:agent-2:run"])?;

    show(
        "WhoAmI as alice",
        client.whoami(with_token(WhoAmIRequest {}, &alice)?).await,
    );
    show(
        "List as alice",
        client.list(with_token(ListRequest {}, &alice)?).await,
    );
    let run = |agent: &str| RunRequest {
        agent_id: agent.into(),
        input: "hello".into(),
    };
    show(
        "Run agent-1 as alice",
        client.run(with_token(run("agent-1"), &alice)?).await,
    );
    show("List without a token", client.list(ListRequest {}).await);
    show(
        "List with a bad token",
        client
            .list(with_token(ListRequest {}, "not.a.token")?)
            .await,
    );
    show(
        "List as bob (no agents:read)",
        client.list(with_token(ListRequest {}, &bob)?).await,
    );
    show(
        "Run agent-1 as bob",
        client.run(with_token(run("agent-1"), &bob)?).await,
    );
    Ok(())
}
