using System.Diagnostics;
using DeepSharp.Cli.Tests;
using Microsoft.Playwright;

namespace DeepSharp.Dashboard.Tests;

/// <summary>
/// The page in a real browser: Debian's chromium, headless, driven by Playwright, watching `deepsharp train --dashboard`
/// (a small CNN on 1200 Fashion-MNIST images) as it runs, then the static report it leaves. Set
/// DEEPSHARP_DASHBOARD_SCREENSHOT=FILE.png to keep the screenshot taken mid-run (docs/dashboard.png is one).
/// </summary>
[Collection(SerialCollection.Name)]
public class BrowserTests
{
    const string Chromium = "/usr/bin/chromium";

    /// <summary>Skips without chromium (sudo apt-get install chromium), or fails in CI, which installs it (.ci/run).</summary>
    static void RequireChromium()
    {
        if (File.Exists(Chromium)) return;
        var message = $"{Chromium} is missing: sudo apt-get install chromium";
        if (Requires.InCi) Assert.Fail($"CI must install chromium (.ci/run), but {message}");
        Assert.Skip(message);
    }

    static Task<IBrowser> Launch(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });

    static Task<int> Points(IPage page, string chart) => page.EvaluateAsync<int>($"() => window.dashboard.points('{chart}')");

    static Task Until(IPage page, string condition, int seconds = 180) =>
        page.WaitForFunctionAsync($"() => {condition}", null, new() { Timeout = seconds * 1000, PollingInterval = 100 });

    [Fact]
    public async Task The_page_draws_the_curves_and_updates_them_while_training_runs_then_the_report_shows_the_run()
    {
        RequireChromium();
        Requires.FashionMnist();
        var dir = CliProcess.TempDir("dashboard");
        var run = Path.Combine(dir, "run");
        using var process = CliProcess.Start(["train", "--model", "cnn", "--limit", "1200", "--test-limit", "200", "--epochs", "3", "--batch-size", "32",
                                              "--threads", "2", "--out", run, "--dashboard", "--port", "0"], dir);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                output.Enqueue(line);
                if (line.StartsWith("dashboard: ", StringComparison.Ordinal)) url.TrySetResult(line.Split(' ')[1]);
            }
            url.TrySetException(new InvalidOperationException("deepsharp train ended without printing the dashboard's address"));
        }, TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        try
        {
            var address = await url.Task.WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
            Assert.StartsWith("http://127.0.0.1:", address);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await Launch(playwright);
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1500, Height = 1250 } });
            var pageErrors = new List<string>();
            page.PageError += (_, message) => pageErrors.Add(message);
            await page.GotoAsync(address);

            // the curves appear ...
            await Until(page, "window.dashboard.points('loss') > 0");
            Assert.True(await page.Locator("#chart-loss canvas").CountAsync() > 0, "uPlot draws the loss on a canvas");
            int before = await Points(page, "loss");
            // ... and grow while the run goes on
            await Until(page, $"window.dashboard.points('loss') > {before} && !window.dashboard.state.ended");
            Assert.Equal("live", (await page.Locator("#status").TextContentAsync())?.Trim());
            Assert.Contains("train loss", await page.EvaluateAsync<string[]>("() => window.dashboard.series('loss')"));

            // after the first epoch, still running: validation points, metrics, gradients, the confusion matrix, predictions
            await Until(page, "window.dashboard.state.confusion !== null && window.dashboard.state.samples !== null");
            await Until(page, "window.dashboard.points('grads') > 0 && window.dashboard.points('lr') > 0", 60);
            bool midRun = await page.EvaluateAsync<bool>("() => window.dashboard.state.ended === null");
            Assert.Contains("val loss", await page.EvaluateAsync<string[]>("() => window.dashboard.series('loss')"));
            Assert.Contains("val acc", await page.EvaluateAsync<string[]>("() => window.dashboard.series('metrics')"));
            Assert.Equal(10, await page.Locator("table.confusion tr").CountAsync() - 1);
            Assert.Equal(16, await page.Locator("#samples canvas").CountAsync());
            Assert.NotEqual("–", await page.Locator("#stat-throughput").TextContentAsync());
            var screenshot = Environment.GetEnvironmentVariable("DEEPSHARP_DASHBOARD_SCREENSHOT") is { Length: > 0 } path ? path : Path.Combine(dir, "dashboard.png");
            if (midRun) await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
            Assert.True(midRun, "the first epoch's confusion matrix arrives before the run ends (3 epochs)");

            // the run ends: the page says so, and the process writes the report
            await Until(page, "window.dashboard.state.ended !== null");
            Assert.StartsWith("finished", (await page.Locator("#status").TextContentAsync())?.Trim());
            int live = await Points(page, "loss");
            Assert.True(process.WaitForExit(120_000), "deepsharp train ends after training");
            await reading;
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {await errors}");
            var report = Path.Combine(run, "dashboard.html");
            Assert.Contains($"dashboard report: {report}", output);
            Assert.Empty(pageErrors);

            // the static report, opened from disk with the network off, draws the same run
            var context = await browser.NewContextAsync(new() { Offline = true });
            var reportPage = await context.NewPageAsync();
            reportPage.PageError += (_, message) => pageErrors.Add(message);
            await reportPage.GotoAsync(new Uri(report).AbsoluteUri);
            await Until(reportPage, "window.dashboard.points('loss') > 0", 30);
            Assert.True(await Points(reportPage, "loss") >= live);
            Assert.StartsWith("report", (await reportPage.Locator("#status").TextContentAsync())?.Trim());
            Assert.Equal(16, await reportPage.Locator("#samples canvas").CountAsync());
            Assert.Equal(3, await reportPage.EvaluateAsync<int>("() => window.dashboard.state.epoch.epoch"));
            Assert.Empty(pageErrors);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
