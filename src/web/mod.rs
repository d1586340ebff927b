//! The browser: the wasm entry point and JavaScript API ([`page`], with its capture
//! requests and downloads in `captures`, wasm32 only), the threaded bundle's kernel workers
//! (`workers`, wasm32 with atomics only) and the page's URL options ([`options`], plain
//! Rust, tested on every target).

#[cfg(target_arch = "wasm32")]
mod captures;
pub mod options;
#[cfg(target_arch = "wasm32")]
mod page;
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
mod workers;

#[cfg(target_arch = "wasm32")]
pub(super) use page::plugin;
