//! Commands for people: `archway apis | deploy | stages | canary | promote`, each a signed
//! request (or two) to the admin API, printed as a table or, with `--json`, as the admin API's
//! JSON. Credentials come from `ARCHWAY_ADMIN_ACCESS_KEY_ID`/`ARCHWAY_ADMIN_SECRET_ACCESS_KEY`
//! or from `<data-dir>/admin-credentials`.

use anyhow::{bail, Context};
use archway_control::client::{segment, AdminClient};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Where the admin API is and how to sign for it.
#[derive(clap::Args, Debug, Clone)]
pub struct Conn {
    /// The admin API.
    #[arg(
        long,
        env = "ARCHWAY_ADMIN_ENDPOINT",
        default_value = "http://127.0.0.1:9090"
    )]
    pub endpoint: String,
    /// The server's data directory, to read the admin key from when the environment has none.
    #[arg(long, default_value = "./archway-data")]
    pub data_dir: PathBuf,
    /// Print the admin API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum AdminCommand {
    /// List the REST APIs.
    Apis {
        #[command(flatten)]
        conn: Conn,
    },
    /// Deploy an API's working definition to a stage (creating the stage if needed).
    Deploy {
        #[arg(long)]
        api: String,
        #[arg(long)]
        stage: String,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// List an API's stages, their deployments and canaries.
    Stages {
        #[arg(long)]
        api: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Send a share of a stage's traffic to a canary: the given deployment, or (without
    /// `--deployment`) the stage's current canary, or else a new deployment of the working
    /// definition.
    Canary {
        #[arg(long)]
        api: String,
        #[arg(long)]
        stage: String,
        /// 0–100.
        #[arg(long)]
        percent: f64,
        #[arg(long)]
        deployment: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Make a stage's canary deployment its deployment (with the canary's variable overrides)
    /// and remove the canary.
    Promote {
        #[arg(long)]
        api: String,
        #[arg(long)]
        stage: String,
        #[command(flatten)]
        conn: Conn,
    },
}

impl AdminCommand {
    fn conn(&self) -> &Conn {
        match self {
            AdminCommand::Apis { conn }
            | AdminCommand::Deploy { conn, .. }
            | AdminCommand::Stages { conn, .. }
            | AdminCommand::Canary { conn, .. }
            | AdminCommand::Promote { conn, .. } => conn,
        }
    }
}

pub fn run(cmd: AdminCommand) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(cmd))
}

fn client(conn: &Conn) -> anyhow::Result<AdminClient> {
    let creds = archway_control::credentials::for_client(&conn.data_dir)
        .with_context(|| {
            format!(
                "cannot read {}",
                archway_control::credentials::path(&conn.data_dir).display()
            )
        })?
        .with_context(|| {
            format!(
                "no admin key: set {} and {}, or point --data-dir at the server's data directory",
                archway_control::credentials::ENV_ACCESS_KEY_ID,
                archway_control::credentials::ENV_SECRET_ACCESS_KEY
            )
        })?;
    AdminClient::new(&conn.endpoint, creds).map_err(anyhow::Error::msg)
}

async fn call(
    c: &AdminClient,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    c.call(method, path, body.as_ref())
        .await
        .map_err(anyhow::Error::msg)
}

async fn run_async(cmd: AdminCommand) -> anyhow::Result<()> {
    let conn = cmd.conn().clone();
    let c = client(&conn)?;
    let out = match &cmd {
        AdminCommand::Apis { .. } => {
            let v = call(&c, "GET", "/restapis", None).await?;
            if !conn.json {
                let rows = items(&v)
                    .iter()
                    .map(|a| {
                        vec![
                            text(&a["id"]),
                            text(&a["name"]),
                            date(&a["createdDate"]),
                            text(&a["description"]),
                        ]
                    })
                    .collect();
                table(&["ID", "NAME", "CREATED", "DESCRIPTION"], rows);
            }
            v
        }
        AdminCommand::Deploy {
            api,
            stage,
            description,
            ..
        } => {
            let mut body = json!({ "stageName": stage });
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            let v = call(
                &c,
                "POST",
                &format!("/restapis/{}/deployments", segment(api)),
                Some(body),
            )
            .await?;
            if !conn.json {
                println!("deployed {} to stage {stage}", text(&v["id"]));
            }
            v
        }
        AdminCommand::Stages { api, .. } => {
            let v = call(
                &c,
                "GET",
                &format!("/restapis/{}/stages", segment(api)),
                None,
            )
            .await?;
            if !conn.json {
                let rows = items(&v)
                    .iter()
                    .map(|s| {
                        let canary = &s["canarySettings"];
                        vec![
                            text(&s["stageName"]),
                            text(&s["deploymentId"]),
                            if canary.is_object() {
                                format!("{}%", canary["percentTraffic"].as_f64().unwrap_or(0.0))
                            } else {
                                "-".into()
                            },
                            text(&canary["deploymentId"]),
                            date(&s["lastUpdatedDate"]),
                        ]
                    })
                    .collect();
                table(
                    &[
                        "STAGE",
                        "DEPLOYMENT",
                        "CANARY",
                        "CANARY DEPLOYMENT",
                        "UPDATED",
                    ],
                    rows,
                );
            }
            v
        }
        AdminCommand::Canary {
            api,
            stage,
            percent,
            deployment,
            ..
        } => {
            if !(0.0..=100.0).contains(percent) {
                bail!("--percent must be between 0 and 100");
            }
            let stage_path = format!("/restapis/{}/stages/{}", segment(api), segment(stage));
            let current = call(&c, "GET", &stage_path, None).await?;
            let has_canary = current["canarySettings"].is_object();
            let v = match deployment {
                None if !has_canary => {
                    // A new deployment of the working definition, as the stage's canary.
                    let body = json!({
                        "stageName": stage,
                        "canarySettings": { "percentTraffic": percent },
                    });
                    call(
                        &c,
                        "POST",
                        &format!("/restapis/{}/deployments", segment(api)),
                        Some(body),
                    )
                    .await?;
                    call(&c, "GET", &stage_path, None).await?
                }
                _ => {
                    let mut ops = vec![json!({
                        "op": "replace",
                        "path": "/canarySettings/percentTraffic",
                        "value": percent.to_string(),
                    })];
                    if let Some(d) = deployment {
                        ops.push(json!({
                            "op": "replace",
                            "path": "/canarySettings/deploymentId",
                            "value": d,
                        }));
                    }
                    call(
                        &c,
                        "PATCH",
                        &stage_path,
                        Some(json!({ "patchOperations": ops })),
                    )
                    .await?
                }
            };
            if !conn.json {
                println!(
                    "stage {stage}: {}% to canary deployment {}, the rest to {}",
                    v["canarySettings"]["percentTraffic"]
                        .as_f64()
                        .unwrap_or(0.0),
                    text(&v["canarySettings"]["deploymentId"]),
                    text(&v["deploymentId"])
                );
            }
            v
        }
        AdminCommand::Promote { api, stage, .. } => {
            let stage_path = format!("/restapis/{}/stages/{}", segment(api), segment(stage));
            let current = call(&c, "GET", &stage_path, None).await?;
            let Some(canary) = current["canarySettings"]["deploymentId"].as_str() else {
                bail!("stage {stage} has no canary to promote");
            };
            let mut ops = vec![json!({"op": "replace", "path": "/deploymentId", "value": canary})];
            if let Some(overrides) = current["canarySettings"]["stageVariableOverrides"].as_object()
            {
                for (k, val) in overrides {
                    ops.push(json!({
                        "op": "replace",
                        "path": format!("/variables/{k}"),
                        "value": val.as_str().unwrap_or_default(),
                    }));
                }
            }
            ops.push(json!({"op": "remove", "path": "/canarySettings"}));
            let v = call(
                &c,
                "PATCH",
                &stage_path,
                Some(json!({ "patchOperations": ops })),
            )
            .await?;
            if !conn.json {
                println!("stage {stage} now serves deployment {canary}");
            }
            v
        }
    };
    if conn.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

fn items(v: &Value) -> Vec<Value> {
    v["item"].as_array().cloned().unwrap_or_default()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn date(v: &Value) -> String {
    v.as_i64()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|| "-".into())
}

fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                let pad = widths[i].saturating_sub(c.chars().count());
                s.push_str(c);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        println!("{}", s.trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}
