//! `top`: the container's processes as the engine's `ps` lists them, in docker's table.

use berth_api::Client;

use crate::app::TopArgs;
use crate::error::CliResult;
use crate::format::TabWriter;

/// docker's layout for `top`: `tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)`.
const TOP_TABLE: TabWriter = TabWriter {
    minwidth: 20,
    tabwidth: 1,
    padding: 3,
    padchar: ' ',
};

fn table(titles: &[String], processes: &[Vec<String>]) -> String {
    let mut text = titles.join("\t");
    text.push('\n');
    for p in processes {
        text.push_str(&p.join("\t"));
        text.push('\n');
    }
    TOP_TABLE.format(&text)
}

pub async fn top(client: &Client, args: TopArgs) -> CliResult {
    let top = client
        .container_top(&args.container, &args.ps_args.join(" "))
        .await?;
    super::super::print(&table(&top.titles, &top.processes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_at_least_twenty_wide() {
        let titles = vec!["PID".to_string(), "CMD".to_string()];
        let rows = vec![vec!["10".to_string(), "sleep 100".to_string()]];
        assert_eq!(
            table(&titles, &rows),
            format!("PID{}CMD\n10{}sleep 100\n", " ".repeat(17), " ".repeat(18))
        );
    }
}
