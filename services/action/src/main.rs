//! `scoreboard-action [serve | migrate | token USER_ID]`

use anyhow::Context as _;
use scoreboard_action::Settings;
use scoreboard_config::Env;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = Env::process();
    scoreboard_config::init_tracing(&env)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["serve"] => {
            let app = scoreboard_action::build(Settings::from_env(&env)?)?;
            tracing::info!(port = app.port(), "action service listening");
            app.run_until_stopped().await.context("server failed")
        }
        ["migrate"] => {
            scoreboard_db::migrate(&env.required("DATABASE_URL")?)?;
            Ok(())
        }
        ["token", user_id] => {
            let settings = env.jwt()?;
            let issuer = scoreboard_auth::DevTokenIssuer::new(
                &settings,
                std::time::Duration::from_secs(env.parse("DEV_TOKEN_TTL_SECS", 86_400)?),
            )?;
            let user = scoreboard_domain::UserId::parse(user_id)?;
            println!("{}", issuer.mint(&user)?.token);
            Ok(())
        }
        _ => anyhow::bail!("usage: scoreboard-action [serve | migrate | token USER_ID]"),
    }
}
