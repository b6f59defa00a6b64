//! Starting and completing an action X.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use scoreboard_domain::CompletionMode;
use scoreboard_http::{ApiError, AuthenticatedUser, ErrorCode};
use serde::Deserialize;
use uuid::Uuid;

use crate::lifecycle::{self, CompleteRefusal};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct StartRequest {
    kind: String,
}

/// `POST /api/actions`: start an action of a challenge kind.
#[tracing::instrument(skip_all, fields(user = %user.0, kind = %body.kind))]
pub async fn start(
    user: AuthenticatedUser,
    body: web::Json<StartRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let kind = state
        .kinds
        .get(&body.kind)
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownActionKind, format!("no action kind {:?}", body.kind)))?;
    if kind.completion != CompletionMode::Challenge {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "action kind {:?} is reported by a trusted backend, not started by users",
                kind.name
            ),
        ));
    }
    state.start_limiter.check(&user.0)?;
    let kind = kind.clone();
    let started = scoreboard_db::run_blocking(&state.pool, move |conn| {
        Ok(lifecycle::start(conn, &user.0, &kind, Utc::now())?)
    })
    .await?;
    Ok(HttpResponse::Created().json(started))
}

#[derive(Debug, Deserialize)]
pub struct CompleteRequest {
    answer: String,
}

/// `POST /api/actions/{action_id}/complete`: prove the action done and receive its score key.
#[tracing::instrument(skip_all, fields(user = %user.0, action_id = %path))]
pub async fn complete(
    user: AuthenticatedUser,
    path: web::Path<Uuid>,
    body: web::Json<CompleteRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.complete_limiter.check(&user.0)?;
    let action_id = path.into_inner();
    let answer = body.into_inner().answer;
    if answer.len() > 64 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "answer is longer than 64 characters",
        ));
    }
    let kinds = state.kinds.clone();
    let outcome = scoreboard_db::run_blocking(&state.pool, move |conn| {
        Ok(lifecycle::complete(
            conn,
            action_id,
            &user.0,
            &answer,
            |name| kinds.get(name).cloned(),
            Utc::now(),
        )?)
    })
    .await?;
    match outcome {
        Ok(key) => {
            tracing::info!(amount = key.amount, "action completed, key minted");
            Ok(HttpResponse::Created().json(key))
        }
        Err(refusal) => Err(refusal_error(refusal)),
    }
}

fn refusal_error(refusal: CompleteRefusal) -> ApiError {
    match refusal {
        CompleteRefusal::NotFound => ApiError::new(ErrorCode::ActionNotFound, "no such action for this user"),
        CompleteRefusal::AlreadyCompleted => ApiError::new(
            ErrorCode::ActionAlreadyCompleted,
            "this action was already completed; its key was issued once",
        ),
        CompleteRefusal::Failed => ApiError::new(ErrorCode::ActionFailed, "this action failed; start a new one"),
        CompleteRefusal::Expired => ApiError::new(
            ErrorCode::ActionExpired,
            "the action's deadline has passed; start a new one",
        ),
        CompleteRefusal::TooFast { wait_ms } => ApiError::new(
            ErrorCode::ActionTooFast,
            format!("completed too quickly; try again in {wait_ms} ms"),
        )
        .with_retry_after(u64::try_from(wait_ms).unwrap_or(1).div_ceil(1000))
        .with_details(serde_json::json!({ "retry_after_ms": wait_ms })),
        CompleteRefusal::WrongAnswer { attempts_left } => {
            let message = if attempts_left == 0 {
                "wrong answer; no attempts left, the action has failed".to_owned()
            } else {
                format!("wrong answer; {attempts_left} attempt(s) left")
            };
            ApiError::new(ErrorCode::InvalidProof, message)
                .with_details(serde_json::json!({ "attempts_left": attempts_left }))
        }
        CompleteRefusal::KindRetired => {
            ApiError::new(ErrorCode::UnknownActionKind, "this action's kind is no longer offered")
        }
    }
}
