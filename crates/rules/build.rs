// The rule pack in `rules/` is embedded with include_dir, which cannot tell cargo to
// watch it on stable Rust; this makes an edited pack rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=../../rules");
}
