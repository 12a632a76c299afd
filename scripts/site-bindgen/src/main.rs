//! `site-bindgen INPUT.wasm OUT_DIR OUT_NAME`: the JS glue for the UI's WASM, as
//! `wasm-bindgen --target web --no-typescript --out-name OUT_NAME --out-dir OUT_DIR INPUT.wasm` writes it.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, out_name] = args.as_slice() else {
        eprintln!("usage: site-bindgen INPUT.wasm OUT_DIR OUT_NAME");
        return ExitCode::from(2);
    };
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    // The CLI's defaults where the library's differ: the module path stays in the glue, and reference types
    // are read from the WASM's target features, never from WASM_BINDGEN_EXTERNREF in the environment.
    #[allow(deprecated)]
    let done = bindgen.web(true).and_then(|b| {
        b.input_path(input)
            .reference_types(false)
            .typescript(false)
            .omit_default_module_path(false)
            .out_name(out_name)
            .generate(out_dir)
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("site-bindgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}
