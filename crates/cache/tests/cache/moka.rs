use minstrel_cache::{MokaCache, conformance};

#[tokio::test]
async fn conformance_on_moka() {
    conformance::all(&MokaCache::default()).await;
}
