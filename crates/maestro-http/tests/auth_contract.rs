//! The `Auth` contract suite on the API-token adapter.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use maestro_domain::ports::Auth;
use maestro_http::TokenAuth;

maestro_testkit::auth_contract!(|| async {
    let token = "s3cret-Token_123".to_string();
    (
        Arc::new(TokenAuth::new(Some(token.clone()))) as Arc<dyn Auth>,
        token,
    )
});
