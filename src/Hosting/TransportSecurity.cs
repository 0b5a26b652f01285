using Actors.Client;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;

namespace Hosting;

/// <summary>
/// Mutual TLS settings of a process, from <c>actors.tls</c> (or, for the connections between
/// cluster nodes, <c>actors.cluster.tls</c>) with the command line's files in front: the
/// loaded <see cref="AggregatorTls"/>, or null when TLS is off. A file that cannot be used is
/// a <see cref="ConfigurationException"/> naming where it was set.
/// </summary>
public static class TransportSecurity
{
    /// <summary>
    /// The settings of <paramref name="file"/> (<c>actors.tls</c>, or the section of
    /// <paramref name="role"/>), with the files named on the command line in front of them;
    /// null when TLS is off.
    /// </summary>
    /// <exception cref="ConfigurationException">a file is missing or unreadable, a key or password does not fit.</exception>
    public static AggregatorTls? From(HoconFile file, TlsFiles? commandLine = null, Func<string, string?>? environment = null, TlsRole? role = null)
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
        try
        {
            return AggregatorTls.Load(certificate.Path, key?.Path, authority.Path, environment(passwordVariable), passwordVariable, role.KeyOption);
        }
        catch (AggregatorTlsException e)
        {
            throw (e.File switch
            {
                AggregatorTlsFile.Key => key!,
                AggregatorTlsFile.Authority => authority,
                _ => certificate,
            }).Problem(e.Message);
        }
    }

    /// <summary>
    /// An actor system's setup with <paramref name="config"/>, the wire serializer, and, when
    /// <paramref name="security"/> is given, TLS on the remote transport.
    /// </summary>
    public static ActorSystemSetup SystemSetup(Config config, AggregatorTls? security)
    {
        var bootstrap = BootstrapSetup.Create()
            .WithConfig(security is null ? config : ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = on").WithFallback(config))
            .And(Protocol.ProtocolSerializer.Setup);
        return security is null ? bootstrap : bootstrap.And(security.SslSetup());
    }

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
