use clap::Parser;
use confide_relay::config::Config;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("CONFIDE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    // Check the certificate before announcing anything.
    if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key)
        && let Err(error) = confide_relay::tls::server_config(cert, key)
    {
        eprintln!("confide-relay: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let listener = match TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("confide-relay: cannot listen on {}: {error}", config.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let scheme = if config.tls() { "https" } else { "http" };
    // Tools (the xtask, the tests) read this line to learn the port.
    println!("confide relay listening on {scheme}://{address}/");
    if let Err(error) = confide_relay::serve(listener, config).await {
        eprintln!("confide-relay: {error}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
