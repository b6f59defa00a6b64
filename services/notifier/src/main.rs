//! `scoreboard-notifier [serve]`

use anyhow::Context as _;
use scoreboard_config::Env;
use scoreboard_notifier::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = Env::process();
    scoreboard_config::init_tracing(&env)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["serve"] => {
            let app = scoreboard_notifier::build(Settings::from_env(&env)?)?;
            tracing::info!(port = app.port(), "notifier listening");
            app.run_until_stopped().await.context("server failed")
        }
        _ => anyhow::bail!("usage: scoreboard-notifier [serve]"),
    }
}
