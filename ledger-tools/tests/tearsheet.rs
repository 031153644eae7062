//! `ledger report --html`: a self-contained tearsheet, loaded in a real
//! headless browser (Chromium from the system's packages, which `.ci/run`
//! installs): it renders without console errors, and a screenshot is taken.
//!
//! Without Chromium on the PATH the browser part is skipped with a note,
//! unless `LEDGER_REQUIRE_BROWSER` is set (as `.ci/run` sets it): then its
//! absence fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ok, on, output};

/// The browser: `$CHROMIUM`, else `chromium` or `chromium-browser` on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with `args`; its output.
fn browse(browser: &Path, page: &Path, args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--disable-extensions",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .arg(format!("file://{}", page.display()));
    output(&mut cmd)
}

/// Lines of the browser's log that report a script or console error.
fn console_errors(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| {
            l.contains("Uncaught")
                || (l.contains("CONSOLE") && l.to_ascii_lowercase().contains("error"))
                || l.contains("Failed to load resource")
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_tearsheet_is_self_contained_and_loads_in_a_browser_without_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    ok(on(
        &dir,
        &[
            "demo",
            "--events",
            "4000",
            "--days",
            "60",
            "--segment-size",
            "64KiB",
        ],
    ));
    let page = tmp.path().join("tearsheet.html");
    ok(on(&dir, &["report", "--html", page.to_str().unwrap()]));
    let html = std::fs::read_to_string(&page).unwrap();
    // Every part of the tearsheet is there.
    for part in [
        "Equity curve (marked, end of each day)",
        "Underwater",
        "Monthly returns",
        "Trade P&amp;L distribution",
        "Slippage distribution",
        "Execution quality",
        "Worst executions",
        "Sharpe (annualised)",
    ] {
        assert!(html.contains(part), "missing {part}");
    }
    // Self-contained: nothing is fetched.
    for external in ["src=", "href=", "url(", "@import", "http://", "https://"] {
        assert!(!html.contains(external), "the page refers to {external}");
    }

    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("LEDGER_REQUIRE_BROWSER").is_none(),
            "LEDGER_REQUIRE_BROWSER is set but no chromium is on the PATH"
        );
        eprintln!("note: chromium is not installed; the browser part of this test is skipped");
        return;
    };
    // A page that records any script error in its DOM: the marker must not
    // appear in the rendered DOM.
    let probed = tmp.path().join("probed.html");
    std::fs::write(
        &probed,
        html.replacen(
            "<head>",
            "<head><script>window.onerror=function(m){document.documentElement.setAttribute('data-page-error',String(m));};</script>",
            1,
        ),
    )
    .unwrap();
    let dom = browse(&browser, &probed, &["--dump-dom"]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom_text.contains("Monthly returns"),
        "the page did not render"
    );
    assert!(!dom_text.contains("data-page-error=\""), "a script error");
    assert_eq!(console_errors(&dom.stderr), Vec::<String>::new());

    // The screenshot, kept beside the test binaries.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tearsheet.png");
    let _ = std::fs::remove_file(&shot);
    let run = browse(
        &browser,
        &page,
        &[
            "--window-size=1100,5200",
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(console_errors(&run.stderr), Vec::<String>::new());
    let png = std::fs::read(&shot).expect("the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "a screenshot of {} bytes", png.len());
    eprintln!("screenshot: {}", shot.display());
}
