using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace Protocol;

/// <summary>
/// Mutual TLS for the remote transport, from <c>actors.tls</c>: this process's certificate
/// with its private key, and the certificate authorities it trusts. Each side presents its
/// certificate and accepts the other's only if it chains to one of those authorities; the
/// system's own trust store plays no part.
/// </summary>
public sealed class TransportSecurity
{
    public const string Section = "actors.tls.";

    private readonly X509Certificate2Collection _authorities;
    private string? _lastRefusal;

    private TransportSecurity(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        Certificate = certificate;
        _authorities = authorities;
    }

    /// <summary>Why the last peer certificate was refused, for the user; null while none was.</summary>
    public string? LastRefusal => Volatile.Read(ref _lastRefusal);

    /// <summary>This process's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The transport configuration TLS needs in front of the file's.</summary>
    public static Config TransportConfig { get; } = ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = on");

    /// <summary>The HOCON overrides of the --tls-cert, --tls-key and --tls-ca options (null: not given).</summary>
    public static IEnumerable<KeyValuePair<string, string>> Overrides(string? certificate, string? key, string? authority)
    {
        if (certificate is not null)
        {
            yield return new(Section + "enabled", "on");
            yield return new(Section + "certificate", FullPath(certificate));
        }

        if (key is not null)
        {
            yield return new(Section + "key", FullPath(key));
        }

        if (authority is not null)
        {
            yield return new(Section + "ca", FullPath(authority));
        }

        // An empty path stays empty: the settings then say which file is missing.
        static string FullPath(string path) => path.Length == 0 ? path : Path.GetFullPath(path);
    }

    /// <summary>The settings of <paramref name="file"/>, loaded and checked; null when TLS is off.</summary>
    /// <exception cref="ConfigurationException">a file is missing or unreadable, a key or password does not fit.</exception>
    public static TransportSecurity? From(HoconFile file, Func<string, string?>? environment = null)
    {
        if (!file.Config.HasPath(Section + "enabled") || !file.GetBoolean(Section + "enabled"))
        {
            return null;
        }

        environment ??= Environment.GetEnvironmentVariable;
        var certificatePath = Optional(file, "certificate")
            ?? throw Problem(file, "certificate", "TLS is on but no certificate is given (--tls-cert FILE)");
        var keyPath = Optional(file, "key");
        var authorityPath = Optional(file, "ca")
            ?? throw Problem(file, "ca", "TLS is on but no trusted certificate authority is given (--tls-ca FILE)");
        var passwordVariable = Optional(file, "password-env") ?? "ACTORS_TLS_PASSWORD";
        var password = environment(passwordVariable);

        var certificate = LoadCertificate(file, certificatePath, keyPath, password, passwordVariable);
        var now = DateTime.Now;
        if (certificate.NotAfter < now || certificate.NotBefore > now)
        {
            var (from, to) = (certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime());
            certificate.Dispose();
            throw Problem(file, "certificate", $"the certificate in {certificatePath} is valid from {from:u} to {to:u}, not now");
        }

        var authorities = new X509Certificate2Collection();
        Read(file, "ca", authorityPath, () => authorities.ImportFromPemFile(authorityPath));
        if (authorities.Count == 0)
        {
            throw Problem(file, "ca", $"{authorityPath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        return new TransportSecurity(certificate, authorities);
    }

    /// <summary>The actor system's setup: its configuration with TLS on, and the certificates.</summary>
    public static ActorSystemSetup SystemSetup(Config config, TransportSecurity? security)
    {
        var bootstrap = BootstrapSetup.Create().WithConfig(security is null ? config : TransportConfig.WithFallback(config));
        return security is null
            ? ActorSystemSetup.Create(bootstrap)
            : bootstrap.And(new DotNettySslSetup(security.Certificate, suppressValidation: false, requireMutualAuthentication: true,
                validateCertificateHostname: false, security.Validate));
    }

    /// <summary>
    /// Accepts a peer's certificate when it chains to one of the trusted authorities, for the
    /// use the handshake asks (client or server). Host names are not checked: the identity
    /// that counts is the authority that issued the certificate.
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

    private static X509Certificate2 LoadCertificate(HoconFile file, string path, string? keyPath, string? password, string variable)
    {
        X509Certificate2? loaded = null;
        Read(file, "certificate", path, () =>
        {
            if (keyPath is not null)
            {
                var text = string.Empty;
                Read(file, "key", keyPath, () => text = File.ReadAllText(keyPath));
                if (text.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal))
                {
                    throw Problem(file, "key",
                        $"{keyPath} is in OpenSSL's legacy encrypted format; convert it to PKCS#8: openssl pkcs8 -topk8 -in OLD.key -out NEW.key");
                }

                var encrypted = text.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal);
                if (encrypted && string.IsNullOrEmpty(password))
                {
                    throw Problem(file, "key", $"{keyPath} is encrypted: put its password in ${variable}");
                }

                loaded = encrypted
                    ? X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath)
                    : X509Certificate2.CreateFromPemFile(path, keyPath);
            }
            else
            {
                loaded = X509CertificateLoader.LoadPkcs12FromFile(path, password);
            }
        }, keyPath is null
            ? $"is not a PKCS#12 file its password (from ${variable}) opens; for a PEM certificate give its key with --tls-key"
            : $"and {keyPath} are not a PEM certificate and its private key (an encrypted key is opened with ${variable})");

        using var certificate = loaded!;
        if (!certificate.HasPrivateKey)
        {
            throw Problem(file, "certificate", $"{path} holds no private key for its certificate (give the key with --tls-key)");
        }

        // SslStream on some platforms cannot use a key that exists only in memory: keep it in a PKCS#12 form.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private static void Read(HoconFile file, string key, string path, Action read, string? notUnderstood = null)
    {
        if (!File.Exists(path))
        {
            throw Problem(file, key, Directory.Exists(path) ? $"{path} is a directory, not a file" : $"{path} does not exist");
        }

        try
        {
            read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Problem(file, key, $"cannot read {path}: {e.Message}");
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw Problem(file, key, notUnderstood is null ? $"{path}: {e.Message}" : $"{path} {notUnderstood} ({e.Message})");
        }
    }

    private static string? Optional(HoconFile file, string key) =>
        file.Config.GetString(Section + key) is { Length: > 0 } value ? value : null;

    private static ConfigurationException Problem(HoconFile file, string key, string problem) =>
        new(file.Path, null, Section + key, problem);
}
