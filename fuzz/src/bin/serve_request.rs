//! AFL entry point of the `serve_request` target (see fuzz/src/targets/mod.rs and docs/fuzzing.md).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        etcdscope_fuzz::targets::serve_request(data);
    });
}
