using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace Hosting;

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

    /// <summary>
    /// The settings of <paramref name="file"/> (<c>actors.tls</c>, or the section of
    /// <paramref name="role"/>), with the files named on the command line in front of them;
    /// null when TLS is off.
    /// </summary>
    /// <exception cref="ConfigurationException">a file is missing or unreadable, a key or password does not fit.</exception>
    public static TransportSecurity? From(HoconFile file, TlsFiles? commandLine = null, Func<string, string?>? environment = null, TlsRole? role = null)
    {
        role ??= TlsRole.Workers;
        var section = role.Section;
        if (commandLine?.Certificate is null && !file.GetBoolean(section + "enabled"))
        {
            return null;
        }

        environment ??= Environment.GetEnvironmentVariable;
        var certificate = Setting.Of(file, commandLine?.Certificate, section, "certificate", role.CertificateOption)
            ?? throw new ConfigurationException(file.Path, null, section + "certificate", $"TLS is on but no certificate is given ({role.CertificateOption} FILE)");
        var key = Setting.Of(file, commandLine?.Key, section, "key", role.KeyOption);
        var authority = Setting.Of(file, commandLine?.Authority, section, "ca", role.AuthorityOption)
            ?? throw new ConfigurationException(file.Path, null, section + "ca", $"TLS is on but no trusted certificate authority is given ({role.AuthorityOption} FILE)");
        var passwordVariable = file.Config.GetString(section + "password-env") is { Length: > 0 } name ? name : role.PasswordVariable;
        var password = environment(passwordVariable);

        var loaded = LoadCertificate(certificate, key, password, passwordVariable, role.KeyOption);
        var now = DateTime.Now;
        if (loaded.NotAfter < now || loaded.NotBefore > now)
        {
            var (from, to) = (loaded.NotBefore.ToUniversalTime(), loaded.NotAfter.ToUniversalTime());
            loaded.Dispose();
            throw certificate.Problem($"the certificate in {certificate.Path} is valid from {from:u} to {to:u}, not now");
        }

        var authorities = new X509Certificate2Collection();
        Read(authority, () => authorities.ImportFromPemFile(authority.Path));
        if (authorities.Count == 0)
        {
            throw authority.Problem($"{authority.Path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        return new TransportSecurity(loaded, authorities);
    }

    /// <summary>
    /// The setup of an actor system made without Akka.Hosting (the worker, specs): its
    /// configuration (with TLS on when <paramref name="security"/> is given), the wire
    /// serializer's bindings and the certificates.
    /// </summary>
    public static ActorSystemSetup SystemSetup(Config config, TransportSecurity? security)
    {
        var bootstrap = BootstrapSetup.Create()
            .WithConfig(security is null ? config : ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = on").WithFallback(config))
            .And(Protocol.ProtocolSerializer.Setup);
        return security is null ? bootstrap : bootstrap.And(security.SslSetup());
    }

    /// <summary>Akka.Remote's TLS setup: this certificate, mutual authentication, and <see cref="Validate"/>.</summary>
    /// <summary>True when a certificate authority trusted here is trusted by <paramref name="other"/> too.</summary>
    public bool SharesAuthorityWith(TransportSecurity other) =>
        _authorities.Any(mine => other._authorities.Any(theirs => theirs.Thumbprint == mine.Thumbprint));

    public DotNettySslSetup SslSetup() =>
        new(Certificate, suppressValidation: false, requireMutualAuthentication: true, validateCertificateHostname: false, Validate);

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

    private static X509Certificate2 LoadCertificate(Setting certificate, Setting? key, string? password, string variable, string keyOption)
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

    private static void Read(Setting setting, Action read, string? notUnderstood = null)
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
    private sealed record Setting(string Path, string Where, string Name)
    {
        /// <summary>The command line's value, else the file's; null when neither names a file (an empty path names none).</summary>
        public static Setting? Of(HoconFile file, string? commandLine, string section, string key, string option) =>
            commandLine is { Length: > 0 }
                ? new Setting(System.IO.Path.GetFullPath(commandLine), "command line", option)
                : file.Config.GetString(section + key) is { Length: > 0 } value
                    ? new Setting(value, file.Path, section + key)
                    : null;

        public ConfigurationException Problem(string problem) => new(Where, null, Name, problem);
    }
}

/// <summary>The TLS files given on the command line (--tls-cert, --tls-key, --tls-ca); null where not given.</summary>
public sealed record TlsFiles(string? Certificate, string? Key, string? Authority);

/// <summary>
/// Whose certificates a TLS setting is about, and where it is configured: the connections
/// workers make (<c>actors.tls</c>, <c>--tls-*</c>), or, in a cluster, the connections between
/// nodes (<c>actors.cluster.tls</c>, <c>--node-*</c>), which must trust a certificate authority
/// of their own so that a worker's certificate is never taken for a node's.
/// </summary>
public sealed record TlsRole(string Section, string CertificateOption, string KeyOption, string AuthorityOption, string PasswordVariable)
{
    public static readonly TlsRole Workers = new("actors.tls.", "--tls-cert", "--tls-key", "--tls-ca", "ACTORS_TLS_PASSWORD");

    public static readonly TlsRole Nodes = new("actors.cluster.tls.", "--node-cert", "--node-key", "--node-ca", "ACTORS_NODE_TLS_PASSWORD");
}
