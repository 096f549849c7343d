//! Generates the `agents.v1.Agents` service stubs from Rust descriptions (no `.proto` file,
//! no `protoc`): the messages are prost structs in `src/lib.rs`.

fn main() {
    let method = |name: &str, route: &str, input: &str, output: &str| {
        tonic_build::manual::Method::builder()
            .name(name)
            .route_name(route)
            .input_type(input)
            .output_type(output)
            .codec_path("tonic_prost::ProstCodec")
            .build()
    };
    let agents = tonic_build::manual::Service::builder()
        .name("Agents")
        .package("agents.v1")
        .method(method(
            "list",
            "List",
            "crate::ListRequest",
            "crate::ListReply",
        ))
        .method(method("run", "Run", "crate::RunRequest", "crate::RunReply"))
        .method(method(
            "whoami",
            "WhoAmI",
            "crate::WhoAmIRequest",
            "crate::WhoAmIReply",
        ))
        .build();
    tonic_build::manual::Builder::new().compile(&[agents]);
}
