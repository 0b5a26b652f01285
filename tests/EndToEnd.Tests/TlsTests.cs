using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace EndToEnd.Tests;

/// <summary>Mutual TLS between real worker and aggregator processes, with certificates made per class.</summary>
public sealed class TlsTests(TestCertificates certificates) : IClassFixture<TestCertificates>
{
    private Task<ServedAggregator> StartTlsAggregatorAsync() =>
        ServedAggregator.StartWithAsync(["--in-memory", .. certificates.Aggregator.Options(certificates.CaFile)]);

    [Fact]
    public async Task Workers_with_certificates_from_the_trusted_CA_should_append_over_TLS_from_PEM_encrypted_PEM_or_PKCS12()
    {
        await using var aggregator = await StartTlsAggregatorAsync();
        var trusted = certificates.Worker.Options(certificates.CaFile);

        var pem = await aggregator.WorkerAsync(["append", .. trusted, "a", "b", "c"]);
        var pkcs12 = await Executables.RunWorkerAsync(
            ["append", "--aggregator", aggregator.Endpoint, "--tls-cert", certificates.WorkerPkcs12, "--tls-ca", certificates.CaFile, "d", "e"],
            environment: new Dictionary<string, string> { ["ACTORS_TLS_PASSWORD"] = TestCertificates.Pkcs12Password });
        var encryptedKey = await Executables.RunWorkerAsync(
            ["append", "--aggregator", aggregator.Endpoint, "--tls-cert", certificates.Worker.Certificate, "--tls-key", certificates.WorkerEncryptedKey,
                "--tls-ca", certificates.CaFile, "f"],
            environment: new Dictionary<string, string> { ["ACTORS_TLS_PASSWORD"] = TestCertificates.Pkcs12Password });
        var get = await aggregator.WorkerAsync(["get", .. trusted]);

        Assert.StartsWith("akka.ssl.tcp://", aggregator.Address);
        Assert.True(encryptedKey.ExitCode == 0, encryptedKey.Stderr);
        Assert.Contains("with mutual TLS", aggregator.Process.Stderr);
        Assert.True(pem.ExitCode == 0, pem.Stderr);
        Assert.True(pkcs12.ExitCode == 0, pkcs12.Stderr);
        Assert.Equal(["a", "b", "c", "d", "e", "f"], get.Lines);
        aggregator.AssertNoErrorsOrWarnings();
    }

    [Fact]
    public async Task Workers_with_no_certificate_a_self_signed_one_one_from_another_CA_or_plain_TCP_should_append_nothing()
    {
        await using var aggregator = await StartTlsAggregatorAsync();
        var trusted = certificates.Worker.Options(certificates.CaFile);
        Assert.Equal(0, (await aggregator.WorkerAsync(["append", .. trusted, "kept"])).ExitCode);

        var refused = await Task.WhenAll(
            aggregator.UncheckedWorkerAsync(["append", "--connect-timeout", "3", .. certificates.SelfSigned.Options(certificates.CaFile), "self-signed"]),
            aggregator.UncheckedWorkerAsync(["append", "--connect-timeout", "3", .. certificates.OtherCaWorker.Options(certificates.CaFile), "other-ca"]),
            aggregator.UncheckedWorkerAsync(["append", "--connect-timeout", "3", "plain"]));
        var port = int.Parse(aggregator.Endpoint[(aggregator.Endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var noCertificate = await TlsWithoutCertificateAsync(port);
        await aggregator.Process.WaitForStderrAsync("client did not provide a certificate", TimeSpan.FromSeconds(10));
        var get = await aggregator.WorkerAsync(["get", .. trusted]);

        // A refused TLS worker sees either silence (exit 3, with the TLS hint) or, when the
        // refusal reaches it inside its own handshake, a failed handshake (exit 2).
        Assert.All(refused[..2], run =>
        {
            Assert.True(run.ExitCode is 2 or 3, run.Stderr);
            Assert.Contains(run.ExitCode == 3
                ? "(with TLS on, an aggregator without TLS, or one that refuses this worker's certificate, looks the same"
                : "failed its TLS handshake: the aggregator refused this worker's certificate", run.Stderr);
            AssertConnectTimeoutKept(run, 3);
            Assert.DoesNotContain("   at ", run.Stderr);
        });
        Assert.Equal(3, refused[2].ExitCode);
        Assert.Contains("did not answer within 3 s", refused[2].Stderr);
        AssertConnectTimeoutKept(refused[2], 3);
        Assert.Contains("(CN=self-signed, issued by CN=self-signed) is not trusted", aggregator.Process.Stderr);
        Assert.Contains("(CN=intruder, issued by CN=Other CA) is not trusted", aggregator.Process.Stderr);
        Assert.Contains("Rejected incoming connection", aggregator.Process.Stderr);
        Assert.True(noCertificate, "the aggregator kept a TLS connection that presented no certificate open");
        Assert.Equal(["kept"], get.Lines);
        Assert.DoesNotContain("TLS handshake failed on channel", aggregator.Process.Stderr);
    }

    [Fact]
    public async Task A_worker_should_refuse_an_aggregator_whose_certificate_is_not_from_its_CA_and_say_so()
    {
        await using var aggregator = await StartTlsAggregatorAsync();

        var run = await aggregator.UncheckedWorkerAsync(["append", .. certificates.Worker.Options(certificates.OtherCaFile), "x"]);
        var get = await aggregator.WorkerAsync(["get", .. certificates.Worker.Options(certificates.CaFile)]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"the TLS handshake with the aggregator at {aggregator.Endpoint} failed: its certificate (CN=aggregator, issued by CN=Actors Test CA) is not trusted", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.Empty(get.Lines);
    }

    [Fact]
    public async Task A_plain_TCP_aggregator_should_not_be_mistaken_for_a_TLS_one()
    {
        await using var aggregator = await ServedAggregator.StartAsync();

        var run = await aggregator.UncheckedWorkerAsync(["append", "--connect-timeout", "3", .. certificates.Worker.Options(certificates.CaFile), "x"]);
        var count = await aggregator.WorkerAsync(["count"]);

        // The worker's handshake fails (exit 2, naming TLS) or goes unanswered (exit 3, with the TLS hint).
        Assert.True(run.ExitCode is 2 or 3, run.Stderr);
        Assert.Contains("TLS", run.Stderr);
        AssertConnectTimeoutKept(run, 3);
        Assert.Equal(["0"], count.Lines);
    }

    [Fact]
    public async Task TLS_settings_that_cannot_work_should_stop_both_programs_with_exit_2_naming_the_file()
    {
        var missing = Path.Combine(certificates.Directory, "absent.crt");
        var pair = certificates.Worker;
        string[][] cases =
        [
            ["--tls-cert", missing, "--tls-key", pair.Key, "--tls-ca", certificates.CaFile],
            ["--tls-cert", pair.Certificate, "--tls-key", certificates.Aggregator.Key, "--tls-ca", certificates.CaFile],
            ["--tls-cert", pair.Certificate, "--tls-key", pair.Key],
            ["--tls-cert", pair.Certificate, "--tls-ca", certificates.CaFile],
            ["--tls-cert", pair.Certificate, "--tls-key", pair.Key, "--tls-ca", pair.Key],
            ["--tls-cert", certificates.WorkerPkcs12, "--tls-ca", certificates.CaFile],
            ["--tls-cert", pair.Certificate, "--tls-key", certificates.WorkerEncryptedKey, "--tls-ca", certificates.CaFile],
            ["--tls-cert", "", "--tls-ca", certificates.CaFile],
            [.. certificates.Expired.Options(certificates.CaFile)],
        ];
        string[] expected =
        [
            $"{missing} does not exist",
            "are not a PEM certificate and its private key",
            "no trusted certificate authority is given (--tls-ca FILE)",
            "for a PEM certificate give its key with --tls-key",
            "holds no PEM certificate",
            "is not a PKCS#12 file its password (from $ACTORS_TLS_PASSWORD) opens",
            "is encrypted: put its password in $ACTORS_TLS_PASSWORD",
            "TLS is on but no certificate is given (--tls-cert FILE)",
            "expired.crt is valid from",
        ];

        for (var i = 0; i < cases.Length; i++)
        {
            var worker = await Executables.RunWorkerAsync(["count", "--aggregator", "127.0.0.1:1", .. cases[i]]);
            await using var process = Executables.StartAggregator(["serve", "--in-memory", "--port", "0", .. cases[i]]);
            var aggregator = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

            Assert.True(worker.ExitCode == 2, $"case {i}: {worker.Stderr}");
            Assert.Contains(expected[i], worker.Stderr);
            Assert.Equal(2, aggregator.ExitCode);
            Assert.Contains(expected[i], aggregator.Stderr);
            Assert.Matches(@"actors\.tls\.|command line: --tls-", aggregator.Stderr); // the key, or the option that named the file
            Assert.Empty(aggregator.Stdout);
        }
    }

    /// <summary>A run that gave up waiting (exit 3) waited its whole --connect-timeout, and not far beyond.</summary>
    private static void AssertConnectTimeoutKept(Completed run, int seconds)
    {
        if (run.ExitCode == 3)
        {
            Assert.InRange(run.Elapsed, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(seconds + 30));
        }
    }

    /// <summary>
    /// A TLS client with no certificate that tries to open an association. True when the
    /// aggregator ends the connection (or the handshake) instead of answering.
    /// </summary>
    private static async Task<bool> TlsWithoutCertificateAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10)); // the handshake, the write and the reads
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, timeout.Token);
            await tls.WriteAsync(AkkaWire.Associate("worker", "127.0.0.1", 1, 42), timeout.Token);
            var buffer = new byte[4096];
            while (true)
            {
                if (await tls.ReadAsync(buffer, timeout.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
