using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace Actors.Client;

/// <summary>
/// Mutual TLS for the remote transport: this process's certificate with its private key, and
/// the certificate authorities it trusts. Each side presents its certificate and accepts the
/// other's only if it chains to one of those authorities; the system's own trust store plays
/// no part. Load one with <see cref="Load"/>; a client uses it through
/// <see cref="AggregatorClientOptions.Tls"/>.
/// </summary>
public sealed class AggregatorTls
{
    private readonly X509Certificate2Collection _authorities;
    private string? _lastRefusal;

    private AggregatorTls(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        Certificate = certificate;
        _authorities = authorities;
    }

    /// <summary>Why the last peer certificate was refused, for the user; null while none was.</summary>
    public string? LastRefusal => Volatile.Read(ref _lastRefusal);

    /// <summary>This process's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// Loads this process's certificate (a PEM file with its PEM <paramref name="key"/>, or a
    /// PKCS#12 file when <paramref name="key"/> is null) and the certificate authorities it
    /// trusts (PEM). <paramref name="password"/> opens the PKCS#12 file or an encrypted key.
    /// </summary>
    /// <param name="passwordVariable">where the password comes from, for the messages.</param>
    /// <param name="keyOption">how the key is given, for the messages.</param>
    /// <exception cref="AggregatorTlsException">a file is missing, unreadable, expired, or does not fit.</exception>
    public static AggregatorTls Load(string certificate, string? key, string authority, string? password = null,
        string passwordVariable = "ACTORS_TLS_PASSWORD", string keyOption = "the key file")
    {
        var certificatePath = new TlsPath(Path.GetFullPath(certificate), AggregatorTlsFile.Certificate);
        var keyPath = key is null ? null : new TlsPath(Path.GetFullPath(key), AggregatorTlsFile.Key);
        var authorityPath = new TlsPath(Path.GetFullPath(authority), AggregatorTlsFile.Authority);
        var loaded = LoadCertificate(certificatePath, keyPath, password, passwordVariable, keyOption);
        var now = DateTime.Now;
        if (loaded.NotAfter < now || loaded.NotBefore > now)
        {
            var (from, to) = (loaded.NotBefore.ToUniversalTime(), loaded.NotAfter.ToUniversalTime());
            loaded.Dispose();
            throw certificatePath.Problem($"the certificate in {certificatePath.Path} is valid from {from:u} to {to:u}, not now");
        }

        var authorities = new X509Certificate2Collection();
        Read(authorityPath, () => authorities.ImportFromPemFile(authorityPath.Path));
        if (authorities.Count == 0)
        {
            throw authorityPath.Problem($"{authorityPath.Path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        return new AggregatorTls(loaded, authorities);
    }

    /// <summary>True when a certificate authority trusted here is trusted by <paramref name="other"/> too.</summary>
    public bool SharesAuthorityWith(AggregatorTls other) =>
        _authorities.Any(mine => other._authorities.Any(theirs => theirs.Thumbprint == mine.Thumbprint));

    /// <summary>The remote transport's TLS setup for an actor system: this certificate, mutual authentication, <see cref="Validate"/>.</summary>
    public DotNettySslSetup SslSetup() =>
        new(Certificate, suppressValidation: false, requireMutualAuthentication: true, validateCertificateHostname: false, Validate);

    /// <summary>
    /// The transport's check of a peer's certificate: it must chain to one of the trusted
    /// authorities (no revocation lists fetched, no certificate downloads). A refusal is
    /// logged and kept in <see cref="LastRefusal"/>.
    /// </summary>
    public bool Validate(X509Certificate2? certificate, X509Chain? offered, string peer, SslPolicyErrors errors, ILoggingAdapter log)
    {
        if (certificate is null)
        {
            Refuse(log, peer, "it presented no certificate");
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        // A private CA publishes no revocation lists; a peer's certificate must not make this
        // process fetch anything from the addresses written in it.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (offered is not null)
        {
            // The use the handshake asks of the peer: serverAuth of a server, clientAuth of a client.
            foreach (var oid in offered.ChainPolicy.ApplicationPolicy)
            {
                chain.ChainPolicy.ApplicationPolicy.Add(oid);
            }

            chain.ChainPolicy.ExtraStore.AddRange(offered.ChainPolicy.ExtraStore);
        }

        try
        {
            if (chain.Build(certificate))
            {
                return true;
            }

            var reasons = chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct();
            Refuse(log, peer, $"its certificate ({certificate.Subject}, issued by {certificate.Issuer}) is not trusted: {string.Join("; ", reasons)}");
            return false;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate)
                    && !_authorities.Any(a => ReferenceEquals(a, element.Certificate)))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }

    private void Refuse(ILoggingAdapter log, string peer, string reason)
    {
        Volatile.Write(ref _lastRefusal, reason);
        log.Warning("Refused a TLS connection with {0}: {1}", peer, reason);
    }

    private static X509Certificate2 LoadCertificate(TlsPath certificate, TlsPath? key, string? password, string variable, string keyOption)
    {
        X509Certificate2? loaded = null;
        Read(certificate, () =>
        {
            if (key is not null)
            {
                var text = string.Empty;
                Read(key, () => text = File.ReadAllText(key.Path));
                if (text.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal))
                {
                    throw key.Problem(
                        $"{key.Path} is in OpenSSL's legacy encrypted format; convert it to PKCS#8: openssl pkcs8 -topk8 -in OLD.key -out NEW.key");
                }

                var encrypted = text.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal);
                if (encrypted && string.IsNullOrEmpty(password))
                {
                    throw key.Problem($"{key.Path} is encrypted: put its password in ${variable}");
                }

                loaded = encrypted
                    ? X509Certificate2.CreateFromEncryptedPemFile(certificate.Path, password, key.Path)
                    : X509Certificate2.CreateFromPemFile(certificate.Path, key.Path);
            }
            else
            {
                loaded = X509CertificateLoader.LoadPkcs12FromFile(certificate.Path, password);
            }
        }, key is null
            ? $"is not a PKCS#12 file its password (from ${variable}) opens; for a PEM certificate give its key with {keyOption}"
            : $"and {key.Path} are not a PEM certificate and its private key (an encrypted key is opened with ${variable})");

        using var pem = loaded!;
        if (!pem.HasPrivateKey)
        {
            throw certificate.Problem($"{certificate.Path} holds no private key for its certificate (give the key with {keyOption})");
        }

        // SslStream on some platforms cannot use a key that exists only in memory: keep it in a PKCS#12 form.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    private static void Read(TlsPath setting, Action read, string? notUnderstood = null)
    {
        var path = setting.Path;
        if (!File.Exists(path))
        {
            throw setting.Problem(Directory.Exists(path) ? $"{path} is a directory, not a file" : $"{path} does not exist");
        }

        try
        {
            read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw setting.Problem($"cannot read {path}: {e.Message}");
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw setting.Problem(notUnderstood is null ? $"{path}: {e.Message}" : $"{path} {notUnderstood} ({e.Message})");
        }
    }

    /// <summary>One TLS file: from the command line (an option) or the configuration file (a key).</summary>
    /// <summary>A TLS file and which one it is, for the messages.</summary>
    private sealed record TlsPath(string Path, AggregatorTlsFile File)
    {
        public AggregatorTlsException Problem(string problem) => new(File, problem);
    }
}
