//! `klaxon routes test|show`: the routing tree of a config file, as `amtool config routes
//! test` and `amtool config routes` print it.

use crate::settings::Settings;
use klaxon_core::alertmanager::{Labels, Route, Rules};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum RoutesCommand {
    /// Print the receivers an alert with these labels goes to (comma-separated, in tree
    /// order), like `amtool config routes test`.
    Test {
        /// Config file (Klaxon's, or a plain alertmanager.yml).
        #[arg(long, env = "KLAXON_CONFIG")]
        config: PathBuf,
        /// Print the matching routes as a tree.
        #[arg(long)]
        tree: bool,
        /// Exit 1 unless the receivers are exactly these (comma-separated).
        #[arg(long)]
        verify_receivers: Option<String>,
        /// The alert's labels, `name=value` …
        labels: Vec<String>,
    },
    /// Print the whole routing tree.
    Show {
        #[arg(long, env = "KLAXON_CONFIG")]
        config: PathBuf,
    },
}

fn load_rules(path: &std::path::Path) -> Result<Rules, String> {
    let settings = Settings::load(Some(path)).map_err(|e| e.to_string())?;
    settings
        .config
        .alertmanager_rules()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// `name=value` pairs (the value may be quoted) as a label set.
pub fn parse_labels(args: &[String]) -> Result<Labels, String> {
    let mut out = Labels::new();
    for a in args {
        let (name, value) = a
            .split_once('=')
            .ok_or_else(|| format!("{a:?} is not a label: write name=value"))?;
        let name = name.trim();
        if !klaxon_core::alertmanager::is_valid_label_name(name) {
            return Err(format!("{name:?} is not a valid label name"));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        if !value.is_empty() {
            out.insert(name.to_string(), value.to_string());
        }
    }
    Ok(out)
}

/// One line of the tree: the node's matchers (`default-route` at the root) and settings.
fn node_line(r: &Route, is_root: bool, with_receiver: bool) -> String {
    let mut s = if is_root {
        "default-route".to_string()
    } else {
        r.matchers().to_string()
    };
    if r.continues() {
        s.push_str("  continue: true");
    }
    if with_receiver {
        s.push_str(&format!("  receiver: {}", r.receiver()));
    }
    s
}

fn print_tree(
    r: &Route,
    keep: &dyn Fn(&Route) -> bool,
    prefix: &str,
    last: bool,
    is_root: bool,
    out: &mut String,
) {
    let branch = if last { "└── " } else { "├── " };
    let leaf_receiver = !is_root || r.routes().is_empty();
    out.push_str(&format!(
        "{prefix}{branch}{}\n",
        node_line(r, is_root, leaf_receiver || keep(r))
    ));
    let children: Vec<&Route> = r.routes().iter().filter(|c| keep(c)).collect();
    let next = format!("{prefix}{}", if last { "    " } else { "│   " });
    for (i, c) in children.iter().enumerate() {
        print_tree(c, keep, &next, i + 1 == children.len(), false, out);
    }
}

pub fn run(cmd: RoutesCommand) -> ExitCode {
    match cmd {
        RoutesCommand::Show { config } => match load_rules(&config) {
            Ok(rules) => {
                let mut out = String::from("Routing tree:\n.\n");
                print_tree(rules.route(), &|_| true, "", true, true, &mut out);
                print!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
        RoutesCommand::Test {
            config,
            tree,
            verify_receivers,
            labels,
        } => {
            let rules = match load_rules(&config) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(1);
                }
            };
            let labels = match parse_labels(&labels) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("klaxon routes test: {e}");
                    return ExitCode::from(2);
                }
            };
            let matched = rules.routes_for(&labels);
            let receivers: Vec<&str> = matched.iter().map(|r| r.receiver()).collect();
            if tree {
                // The matched nodes and the path to each.
                let on_path = |r: &Route| {
                    matched
                        .iter()
                        .any(|m| m.id() == r.id() || m.id().starts_with(&format!("{}/", r.id())))
                };
                let mut out = String::from("Matching routes:\n.\n");
                print_tree(rules.route(), &on_path, "", true, true, &mut out);
                println!("{out}");
            }
            println!("{}", receivers.join(","));
            for r in &matched {
                if tree {
                    println!("  {} group_key={}", r.receiver(), r.group_key(&labels));
                }
            }
            match verify_receivers {
                Some(want) if want != receivers.join(",") => {
                    println!("WARNING: Expected receivers did not match resolved receivers.");
                    ExitCode::from(1)
                }
                _ => ExitCode::SUCCESS,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_arguments() {
        let l = parse_labels(&["a=1".into(), "b=\"x y\"".into(), "c=".into()]).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l["b"], "x y");
        assert!(parse_labels(&["nope".into()]).is_err());
        assert!(parse_labels(&["0a=1".into()]).is_err());
    }
}
