use clap::Parser;
use confide_relay::config::{Command, Config, CounsellorCommand};
use confide_relay::counsellor::{CounsellorId, CounsellorKey};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Dependencies log frames and addresses below warn: capped whatever CONFIDE_LOG says.
    confide_relay::logging::init(confide_relay::logging::operator_filter(), std::io::stdout);
    let mut config = Config::parse();
    if config.print_digest {
        return confide_relay::assets::print_digest(config.static_dir.as_deref());
    }
    if let Some(command) = &config.command {
        return run_command(&config, command);
    }
    let ephemeral_key = match config.load_counsellor_key() {
        Ok(made_up) => made_up,
        Err(error) => {
            eprintln!("confide-relay: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Err(error) = config.validate() {
        eprintln!("confide-relay: {error}");
        return std::process::ExitCode::FAILURE;
    }
    raise_open_files_limit(&config);
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
    let turn = match confide_relay::bind_turn(&config) {
        Ok(turn) => turn,
        Err(error) => {
            eprintln!("confide-relay: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let metrics = match confide_relay::bind_metrics(&config).await {
        Ok(metrics) => metrics,
        Err(error) => {
            eprintln!("confide-relay: {error}");
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
    if ephemeral_key && let Some(key) = &config.counsellor_key {
        // Loopback only, key of this process: a link for whoever runs it here.
        let token = key.token(&CounsellorId::random());
        let url = format!("{scheme}://{address}/");
        println!(
            "confide relay counsellor sign-in (no --counsellor-key-file: valid until this \
             process ends): {}",
            confide_relay::counsellor::sign_in_link(&url, &token)
        );
    }
    if let Some(sockets) = &turn {
        match confide_relay::turn::Turn::describe(&config, sockets.addr) {
            Ok((line, private)) => {
                println!("confide relay {line}");
                if private {
                    tracing::warn!(
                        "the relayed address is not public: browsers outside this network cannot \
                         use TURN; set --public-ip"
                    );
                }
            }
            Err(error) => {
                eprintln!("confide-relay: {error}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    if let Some(addr) = metrics.as_ref().and_then(|m| m.local_addr().ok()) {
        println!("confide relay metrics on http://{addr}/metrics");
    }
    if let Err(error) = confide_relay::serve_bound(listener, turn, metrics, config).await {
        eprintln!("confide-relay: {error}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

/// `counsellor add "Name"`: a new id and its sign-in link, from the key file.
fn run_command(config: &Config, command: &Command) -> std::process::ExitCode {
    let Command::Counsellor {
        action: CounsellorCommand::Add { name, url },
    } = command;
    let Some(file) = &config.counsellor_key_file else {
        eprintln!(
            "confide-relay: counsellor add needs --counsellor-key-file (or \
             CONFIDE_COUNSELLOR_KEY_FILE), the same file the relay uses"
        );
        return std::process::ExitCode::FAILURE;
    };
    let key = match CounsellorKey::read(file) {
        Ok(key) => key,
        Err(error) => {
            eprintln!("confide-relay: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let id = CounsellorId::random();
    let base = url.clone().unwrap_or_else(|| config.app_url());
    println!("Counsellor: {name}");
    println!("Id (to revoke her sign-in, put it into --counsellor-revoked): {id}");
    println!("Sign-in link (for her only; she opens it once on her own device):");
    println!(
        "{}",
        confide_relay::counsellor::sign_in_link(&base, &key.token(&id))
    );
    std::process::ExitCode::SUCCESS
}

/// Raises the soft limit on open files to the hard limit (systemd's soft
/// default of 1024 is reached by the default 1000 WebSockets), and warns when
/// even that is below what the configured limits may need.
#[cfg(unix)]
fn raise_open_files_limit(config: &Config) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    let need = config.max_connections as u64 + config.max_pending_connections as u64 + 64;
    match getrlimit(Resource::Nofile).current {
        Some(files) if files < need => tracing::warn!(
            open_files = files,
            needed = need,
            "open files limit is below --max-connections + --max-pending-connections; raise LimitNOFILE"
        ),
        Some(files) => tracing::info!(open_files = files, "open files limit"),
        None => {}
    }
}

#[cfg(not(unix))]
fn raise_open_files_limit(_config: &Config) {}
