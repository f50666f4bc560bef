//! `pack-model MODEL.safetensors TOKENIZER.json OUT`: converts a Model2Vec model into
//! the core's compact format (`threadkeeper::search::meaning::model::pack`). Run by
//! scripts/model.sh at build time.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [weights, tokenizer, out] = &args[..] else {
        eprintln!("usage: pack-model MODEL.safetensors TOKENIZER.json OUT");
        return ExitCode::FAILURE;
    };
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("cannot read {p}: {e}"));
    let packed = read(weights).and_then(|w| {
        let t = read(tokenizer)?;
        threadkeeper::search::meaning::model::pack(&w, &t).map_err(|e| e.to_string())
    });
    match packed.and_then(|bytes| std::fs::write(out, bytes).map_err(|e| format!("cannot write {out}: {e}"))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pack-model: {e}");
            ExitCode::FAILURE
        }
    }
}
