// The site directory must exist for the binary's embed to compile. It is not watched here: a change of the
// build script's inputs would recompile the whole library, and the binary already tracks the files it embeds.
fn main() {
    let dir = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("../target/site");
    let _ = std::fs::create_dir_all(&dir);
    println!("cargo:rerun-if-changed=../migrations");
}
