// @generated automatically by Diesel CLI.

diesel::table! {
    actions (id) {
        id -> Uuid,
        user_id -> Text,
        kind -> Text,
        status -> Text,
        challenge_prompt -> Nullable<Text>,
        challenge_answer -> Nullable<Text>,
        failed_attempts -> Int4,
        external_id -> Nullable<Text>,
        started_at -> Timestamptz,
        deadline_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Uuid,
        seq -> Int8,
        event_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        leased_until -> Nullable<Timestamptz>,
        traceparent -> Nullable<Text>,
    }
}

diesel::table! {
    score_audit (id) {
        id -> Int8,
        user_id -> Text,
        delta -> Int8,
        score_after -> Int8,
        version -> Int8,
        reason -> Text,
        score_key -> Nullable<Text>,
        actor -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    score_keys (key) {
        key -> Text,
        user_id -> Text,
        action_id -> Uuid,
        amount -> Int8,
        status -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        redeemed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    user_scores (user_id) {
        user_id -> Text,
        score -> Int8,
        reached_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::joinable!(score_audit -> score_keys (score_key));
diesel::joinable!(score_keys -> actions (action_id));

diesel::allow_tables_to_appear_in_same_query!(actions, outbox, score_audit, score_keys, user_scores,);
