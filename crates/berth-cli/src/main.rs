//! `berth-admin`: the operators' command line. It talks to the registry table (`--table` or
//! `BERTH_TABLE`) and ELB with the usual AWS configuration (profile, region,
//! `AWS_ENDPOINT_URL`).

use berth_adapters::aws::DynamoRegistry;
use berth_adapters::ports::Pool;
use berth_cli::{pool_add, pool_table, Quotas};
use berth_domain::pool::AlbState;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "berth-admin", about = "Operate berth: the pool of shared ALBs")]
struct Cli {
    /// The registry table.
    #[arg(long, env = "BERTH_TABLE")]
    table: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The pool of shared ALBs.
    #[command(subcommand)]
    Pool(PoolCmd),
    /// Compare every pool listener with the ledger: rules berth does not own, ledger
    /// entries with no rule, and each ALB's used and free capacity.
    Audit,
}

#[derive(Subcommand)]
enum PoolCmd {
    /// Every ALB with its state, customers and capacity.
    List,
    /// Add the ALB behind an HTTPS listener to the pool.
    Add {
        #[arg(long)]
        listener_arn: String,
        /// Defaults to the load balancer's name.
        #[arg(long)]
        name: Option<String>,
        /// Listener rules the ALB may hold (AWS's quota, adjustable; default 100).
        #[arg(long, default_value_t = berth_domain::pool::DEFAULT_RULE_QUOTA)]
        rule_quota: u32,
        /// Target groups the ALB may serve (AWS's limit: 100).
        #[arg(long, default_value_t = berth_domain::pool::DEFAULT_TARGET_GROUP_QUOTA)]
        target_group_quota: u32,
        /// Certificates on the listener (AWS's quota, adjustable; default 25).
        #[arg(long, default_value_t = berth_domain::pool::DEFAULT_CERTIFICATE_QUOTA)]
        certificate_quota: u32,
    },
    /// Take no new customers on this ALB (its customers stay).
    Drain { name: String },
    /// Take new customers on this ALB again.
    Activate { name: String },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), cli.table.clone());
    let result = match cli.command {
        Cmd::Pool(PoolCmd::List) => {
            registry.albs().await.map(
                |albs| {
                    if cli.json {
                        serde_json::to_string_pretty(&albs).unwrap_or_default()
                    } else {
                        pool_table(&albs)
                    }
                },
            )
        }
        Cmd::Pool(PoolCmd::Add { listener_arn, name, rule_quota, target_group_quota, certificate_quota }) => {
            let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
            let quotas = Quotas { rules: rule_quota, target_groups: target_group_quota, certificates: certificate_quota };
            pool_add(&registry, &elb, &listener_arn, name.as_deref(), quotas).await.map(|a| format!("added {} ({})", a.name, a.dns_name))
        }
        Cmd::Audit => {
            let elb = berth_adapters::aws::ElbApi::new(aws_sdk_elasticloadbalancingv2::Client::new(&sdk));
            berth_cli::audit(&registry, &elb).await.map(|r| {
                if cli.json {
                    serde_json::to_string_pretty(&r).unwrap_or_default()
                } else {
                    berth_cli::audit_text(&r)
                }
            })
        }
        Cmd::Pool(PoolCmd::Drain { name }) => {
            registry.set_state(&name, AlbState::Draining).await.map(|a| format!("{} is draining", a.name))
        }
        Cmd::Pool(PoolCmd::Activate { name }) => registry.set_state(&name, AlbState::Active).await.map(|a| format!("{} is active", a.name)),
    };
    match result {
        Ok(text) => {
            println!("{}", text.trim_end());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("berth-admin: {} {e}", e.kind());
            std::process::ExitCode::FAILURE
        }
    }
}
