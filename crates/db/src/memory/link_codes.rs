use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use minstrel_app::ports::{LinkCode, LinkCodeRepo, StoreError};

use super::lock;
use crate::messages;

/// [`LinkCodeRepo`] kept in memory. Taking a code removes it, so it works once.
#[derive(Debug, Default)]
pub struct MemoryLinkCodeRepo {
    codes: Mutex<HashMap<String, LinkCode>>,
}

impl MemoryLinkCodeRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl LinkCodeRepo for MemoryLinkCodeRepo {
    async fn insert(&self, code: &LinkCode) -> Result<(), StoreError> {
        let mut codes = lock(&self.codes);
        if codes.contains_key(&code.code) {
            return Err(messages::duplicate_link_code());
        }
        codes.insert(code.code.clone(), code.clone());
        Ok(())
    }

    async fn take(&self, code: &str) -> Result<Option<LinkCode>, StoreError> {
        Ok(lock(&self.codes).remove(code))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StoreError> {
        let mut codes = lock(&self.codes);
        let before = codes.len();
        codes.retain(|_, code| code.expires_at > now);
        Ok(before - codes.len())
    }
}
