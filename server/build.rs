// The site directory must exist for the embed to compile; changes in it must rebuild the server.
fn main() {
    let dir = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("../target/site");
    let _ = std::fs::create_dir_all(&dir);
    println!("cargo:rerun-if-changed=../target/site");
    println!("cargo:rerun-if-changed=../migrations");
}
