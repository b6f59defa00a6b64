//! Completions reported by a trusted backend.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use scoreboard_domain::{CompletionMode, UserId};
use scoreboard_http::{ApiError, ErrorCode, TrustedBackend};
use serde::Deserialize;

use crate::lifecycle::{self, ReportRefusal, Reported};
use crate::AppState;

const MAX_EXTERNAL_ID_LEN: usize = 128;

#[derive(Debug, Deserialize)]
pub struct ReportRequest {
    user_id: UserId,
    kind: String,
    external_id: String,
}

/// `POST /api/actions/reported`: "user U completed action X (external id E)". Needs the service
/// credential; idempotent on (kind, E): a repeat answers 200 with the first key.
#[tracing::instrument(skip_all, fields(user = %body.user_id, kind = %body.kind))]
pub async fn report(
    _backend: TrustedBackend,
    body: web::Json<ReportRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ReportRequest {
        user_id,
        kind,
        external_id,
    } = body.into_inner();
    let valid_external_id = |c: char| c.is_ascii_graphic();
    if external_id.is_empty() || external_id.len() > MAX_EXTERNAL_ID_LEN || !external_id.chars().all(valid_external_id)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("external_id must be 1 to {MAX_EXTERNAL_ID_LEN} printable ASCII characters"),
        ));
    }
    let kind = state
        .kinds
        .get(&kind)
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownActionKind, format!("no action kind {kind:?}")))?
        .clone();
    if kind.completion != CompletionMode::Reported {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "action kind {:?} is completed by users with a proof, not reported",
                kind.name
            ),
        ));
    }
    let outcome = scoreboard_db::run_blocking(&state.pool, move |conn| {
        Ok(lifecycle::report(conn, &user_id, &kind, &external_id, Utc::now())?)
    })
    .await?;
    match outcome {
        Ok(Reported::Minted(key)) => Ok(HttpResponse::Created().json(key)),
        Ok(Reported::Replayed(key)) => Ok(HttpResponse::Ok().json(key)),
        Err(ReportRefusal::ExternalIdTaken) => Err(ApiError::new(
            ErrorCode::ExternalIdConflict,
            "this external_id was already reported for another user",
        )),
    }
}
