using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EndToEnd.Tests;

/// <summary>A certificate and its private key, as PEM files.</summary>
internal sealed record PemPair(string Certificate, string Key)
{
    /// <summary>The TLS options of a process holding this pair and trusting <paramref name="authority"/>.</summary>
    public string[] Options(string authority) => ["--tls-cert", Certificate, "--tls-key", Key, "--tls-ca", authority];

    /// <summary>A cluster node's TLS options for its traffic with the other nodes: this pair, trusting <paramref name="authority"/>.</summary>
    public string[] NodeOptions(string authority) => ["--node-cert", Certificate, "--node-key", Key, "--node-ca", authority];
}

/// <summary>
/// The certificates of the TLS tests, made once per test class in a temporary directory:
/// a CA with an aggregator and a worker certificate, a self-signed certificate, a second CA
/// with a certificate of its own, and the nodes' own CA with a node certificate (what
/// openssl makes in docs/operations.md).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public const string Pkcs12Password = "correct horse battery staple";

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("e2e-tls").FullName;
        using var ca = Authority("Actors Test CA");
        using var otherCa = Authority("Other CA");
        using var nodeCa = Authority("Actors Test Node CA");
        CaFile = WriteCertificate("ca.crt", ca);
        NodeCaFile = WriteCertificate("node-ca.crt", nodeCa);
        Node = Leaf("node", nodeCa);
        OtherCaFile = WriteCertificate("other-ca.crt", otherCa);
        Aggregator = Leaf("aggregator", ca);
        Worker = Leaf("worker", ca);
        OtherCaWorker = Leaf("intruder", otherCa);
        SelfSigned = Leaf("self-signed", null);
        Expired = Leaf("expired", ca, DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1));

        using var worker = X509Certificate2.CreateFromPemFile(Worker.Certificate, Worker.Key);
        WorkerPkcs12 = Path.Combine(Directory, "worker.p12");
        File.WriteAllBytes(WorkerPkcs12, worker.Export(X509ContentType.Pkcs12, Pkcs12Password));
        using var workerKey = worker.GetECDsaPrivateKey()!;
        WorkerEncryptedKey = Path.Combine(Directory, "worker.enc.key");
        File.WriteAllText(WorkerEncryptedKey, workerKey.ExportEncryptedPkcs8PrivateKeyPem(Pkcs12Password,
            new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000)));
    }

    public string Directory { get; }

    /// <summary>The worker's private key, encrypted with <see cref="Pkcs12Password"/>.</summary>
    internal string WorkerEncryptedKey { get; }

    internal string CaFile { get; }

    internal string OtherCaFile { get; }

    /// <summary>The cluster nodes' own CA: it issues no worker's certificate.</summary>
    internal string NodeCaFile { get; }

    /// <summary>A cluster node's certificate, from <see cref="NodeCaFile"/>.</summary>
    internal PemPair Node { get; }

    internal PemPair Aggregator { get; }

    internal PemPair Worker { get; }

    internal PemPair OtherCaWorker { get; }

    internal PemPair SelfSigned { get; }

    /// <summary>Issued by the CA, but valid only until yesterday.</summary>
    internal PemPair Expired { get; }

    /// <summary>The worker's certificate and key in one PKCS#12 file, locked with <see cref="Pkcs12Password"/>.</summary>
    internal string WorkerPkcs12 { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(30));
    }

    private PemPair Leaf(string name, X509Certificate2? issuer, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddDays(29);
        X509Certificate2 certificate;
        if (issuer is null)
        {
            certificate = request.CreateSelfSigned(from, to);
        }
        else
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
            certificate = request.Create(issuer, from, to, RandomNumberGenerator.GetBytes(16));
        }

        using (certificate)
        {
            var keyFile = Path.Combine(Directory, name + ".key");
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
            return new PemPair(WriteCertificate(name + ".crt", certificate), keyFile);
        }
    }

    private string WriteCertificate(string file, X509Certificate2 certificate)
    {
        var path = Path.Combine(Directory, file);
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }
}
