using System.IO.Compression;
using System.Xml.Linq;

namespace DeepSharp.Packaging.Tests;

/// <summary>
/// Packs every project under src/ (a folder feed of .nupkg + .snupkg), once for the class, under a version no other run
/// uses, so a package left in the shared NuGet cache by an earlier run cannot stand in for a broken one.
/// </summary>
public sealed class PackedFeed : IDisposable
{
    public string Root { get; } = Tools.RepositoryRoot();
    public string Work { get; } = Tools.TempDir("deepsharp-pack");
    public string Feed => Path.Combine(Work, "feed");
    public string Version { get; } = $"0.1.0-ci.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
    public string[] Projects { get; }

    public PackedFeed()
    {
        Projects = Directory.GetDirectories(Path.Combine(Root, "src")).Select(Path.GetFileName)
            .Where(name => File.Exists(Path.Combine(Root, "src", name!, name + ".csproj"))).Order(StringComparer.Ordinal).ToArray()!;
        // one .slnx of the src projects, so a single pack builds each once (into a private artifacts folder)
        var slnx = Path.Combine(Work, "packages.slnx");
        File.WriteAllText(slnx, "<Solution>\n" + string.Concat(Projects.Select(p =>
            $"  <Project Path=\"{Path.Combine(Root, "src", p, p + ".csproj")}\" />\n")) + "</Solution>\n");
        Tools.MustRun(Tools.Dotnet, ["pack", slnx, "-c", "Release", "-o", Feed, $"-p:Version={Version}",
            "-p:UseArtifactsOutput=true", $"-p:ArtifactsPath={Path.Combine(Work, "artifacts")}", "--nologo", "-v", "q", "-clp:ErrorsOnly"], Work);
    }

    public void Dispose()
    {
        try { Directory.Delete(Work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        // the packages of this version that restore and tool install copied into the NuGet cache
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var p in Projects)
        {
            var dir = Path.Combine(cache, p.ToLowerInvariant(), Version);
            try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>
/// DeepSharp as a .NET developer gets it (issue 21, docs/packaging.md): every src project is a package with the metadata
/// a package page shows, a console project restores the packages from a folder feed (not project references) and trains
/// a model, and the deepsharp .NET tool installed from the feed behaves as the command does.
/// </summary>
public sealed class PackageTests(PackedFeed packed) : IClassFixture<PackedFeed>
{
    [Fact]
    public void EveryLibraryPacksWithReadmeLicenseDocsAndSymbols()
    {
        Assert.Contains("DeepSharp", packed.Projects);
        Assert.Contains("DeepSharp.Cli", packed.Projects);
        foreach (var id in packed.Projects)
        {
            var nupkg = Path.Combine(packed.Feed, $"{id}.{packed.Version}.nupkg");
            Assert.True(File.Exists(nupkg), $"{id}: no {Path.GetFileName(nupkg)} in the feed");
            Assert.True(File.Exists(Path.ChangeExtension(nupkg, ".snupkg")), $"{id}: no symbol package (.snupkg)");
            using var zip = ZipFile.OpenRead(nupkg);
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
            var nuspecEntry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
            XNamespace ns = XDocument.Load(nuspecEntry.Open()).Root!.Name.Namespace;
            var metadata = XDocument.Load(nuspecEntry.Open()).Root!.Element(ns + "metadata")!;
            Assert.Equal(id, metadata.Element(ns + "id")!.Value);
            Assert.Equal(packed.Version, metadata.Element(ns + "version")!.Value);
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            Assert.Equal("expression", metadata.Element(ns + "license")?.Attribute("type")?.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.Contains("README.md", entries);
            Assert.True((metadata.Element(ns + "description")?.Value.Length ?? 0) > 40, $"{id}: the description is missing or too short");
            if (id == "DeepSharp.Cli")
            {
                // a .NET tool: the command and its whole application under tools/
                Assert.Contains(metadata.Element(ns + "packageTypes")!.Elements(ns + "packageType"), t => t.Attribute("name")?.Value == "DotnetTool");
                var settings = zip.Entries.Single(e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal));
                var command = XDocument.Load(settings.Open()).Descendants().Single(e => e.Name.LocalName == "Command");
                Assert.Equal("deepsharp", command.Attribute("Name")?.Value);
                Assert.Contains(entries, e => e.StartsWith("tools/net10.0/any/", StringComparison.Ordinal) && e.EndsWith("/DeepSharp.Kernels.dll", StringComparison.Ordinal));
                continue;
            }
            Assert.Contains($"lib/net10.0/{id}.dll", entries);
            Assert.Contains($"lib/net10.0/{id}.xml", entries);   // IntelliSense docs
            // dependencies on the other DeepSharp packages carry this version (project references became package references)
            foreach (var dependency in metadata.Descendants(ns + "dependency").Where(d => d.Attribute("id")!.Value.StartsWith("DeepSharp", StringComparison.Ordinal)))
                Assert.Equal(packed.Version, dependency.Attribute("version")!.Value);
        }
    }

    /// <summary>The program of docs/getting-started.md, against the packages (the assets file shows where each came from).</summary>
    [Fact]
    public void ConsoleProjectTrainsAModelFromThePackages()
    {
        var app = Path.Combine(packed.Work, "consumer");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{packed.Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="DeepSharp.Training" Version="{packed.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), GettingStarted.Program);
        var output = Tools.MustRun(Tools.Dotnet, ["run", "-c", "Release", "--nologo"], app, timeoutSeconds: 900);
        // what restore resolved: each DeepSharp library as a package of this version, and no project references
        using var assets = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(app, "obj", "project.assets.json")));
        var libraries = assets.RootElement.GetProperty("libraries").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("type").GetString());
        foreach (var id in new[] { "DeepSharp.Training", "DeepSharp", "DeepSharp.Kernels" })
            Assert.Equal("package", libraries.GetValueOrDefault($"{id}/{packed.Version}"));
        Assert.DoesNotContain("project", libraries.Values);
        var line = output.Split('\n').Single(l => l.StartsWith("accuracy: ", StringComparison.Ordinal));
        double accuracy = double.Parse(line["accuracy: ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(accuracy > 0.9, $"the consumer's model reached {accuracy} (expected > 0.9)\n{output}");
        Assert.True(File.Exists(Path.Combine(app, "circle.safetensors")));
        Assert.Contains("fc1.weight, fc1.bias, fc2.weight, fc2.bias", output);   // field discovery through the package
    }

    /// <summary>`dotnet tool install DeepSharp.Cli` from the feed: the same help, errors and exit codes as the command.</summary>
    [Fact]
    public void ToolFromTheFeedBehavesAsTheCommand()
    {
        var tools = Path.Combine(packed.Work, "tools");
        Tools.MustRun(Tools.Dotnet, ["tool", "install", "DeepSharp.Cli", "--tool-path", tools, "--add-source", packed.Feed,
            "--version", packed.Version], packed.Work, timeoutSeconds: 600);
        var deepsharp = Path.Combine(tools, "deepsharp");
        Assert.True(File.Exists(deepsharp), $"the tool installed no {deepsharp}");
        var environment = new Dictionary<string, string?> { ["DOTNET_ROOT"] = Tools.DotnetRoot, ["CI"] = null };
        string[][] lines =
        [
            ["--help"], ["train", "--help"], ["predict", "--help"], [], ["frobnicate"], ["train", "--epochs", "zero"],
            ["evaluate", Path.Combine(packed.Work, "missing.safetensors")],
        ];
        foreach (var args in lines)
        {
            var (code, output, err) = Tools.Run(deepsharp, args, packed.Work, environment, timeoutSeconds: 120);
            var expected = Tools.InProcess(args);
            string what = $"deepsharp {string.Join(' ', args)}";
            Assert.True(expected.Code == code, $"{what}: the tool exited with {code}, the command with {expected.Code}\n{err}");
            Assert.Equal(expected.Out, output);
            Assert.Equal(expected.Err, err);
        }
        Assert.Equal(2, Tools.Run(deepsharp, ["frobnicate"], packed.Work, environment).Code);   // ExitCodes.Usage
    }
}
