//! `scoreboard-score [serve | migrate]`

use anyhow::Context as _;
use scoreboard_config::Env;
use scoreboard_score::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = Env::process();
    scoreboard_config::init_tracing(&env)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["serve"] => {
            let app = scoreboard_score::build(Settings::from_env(&env)?)?;
            tracing::info!(port = app.port(), "score service listening");
            app.run_until_stopped().await.context("server failed")
        }
        ["migrate"] => {
            scoreboard_db::migrate(&env.required("DATABASE_URL")?)?;
            Ok(())
        }
        _ => anyhow::bail!("usage: scoreboard-score [serve | migrate]"),
    }
}
