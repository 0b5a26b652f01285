using Microsoft.Extensions.Logging;

namespace Hosting.Tests;

/// <summary>The one-line log of a process without a host: the formatter's lines, from the minimum level up, all written out by the end.</summary>
public sealed class OneLineLoggerFactorySpecs
{
    [Fact]
    public void OneLineLoggerFactory_should_write_the_formatters_lines_from_its_minimum_level_up_and_every_queued_line_by_its_end()
    {
        using var output = new StringWriter();
        var factory = new OneLineLoggerFactory(TextWriter.Synchronized(output), new OneLineFormatterOptions { Minimum = LogLevel.Warning });
        var logger = factory.CreateLogger("Worker");

        logger.LogInformation("not written");
        for (var i = 0; i < 2000; i++)
        {
            logger.LogWarning("line {0}", i);
        }

        logger.LogError(new IOException("disk\nunplugged"), "the end");
        factory.Dispose();

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2001, lines.Length);
        Assert.Matches(@"^\[WARNING\]\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\]\[Worker\] line 0$", lines[0]);
        Assert.EndsWith("][Worker] line 1999", lines[1999]);
        Assert.EndsWith("][Worker] the end <- IOException: disk unplugged", lines[2000]);
        Assert.DoesNotContain("not written", output.ToString());
        Assert.False(logger.IsEnabled(LogLevel.Information));
        Assert.True(logger.IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public void OneLineLoggerFactory_should_drop_its_lines_without_failing_once_its_output_is_gone()
    {
        var output = new StringWriter();
        output.Dispose();
        var factory = new OneLineLoggerFactory(output, new OneLineFormatterOptions());
        var logger = factory.CreateLogger("Worker");

        for (var i = 0; i < 3000; i++)
        {
            logger.LogWarning("line {0}", i); // more than the queue holds: the writer keeps taking them
        }

        factory.Dispose();
        Assert.True(factory.Ended, "the writer did not end");
    }

    [Fact]
    public void OneLineLoggerFactory_should_refuse_other_providers_and_drop_what_comes_after_its_end()
    {
        using var output = new StringWriter();
        var factory = new OneLineLoggerFactory(output, new OneLineFormatterOptions());
        Assert.Throws<NotSupportedException>(() => factory.AddProvider(Microsoft.Extensions.Logging.Abstractions.NullLoggerProvider.Instance));

        factory.Dispose();
        factory.CreateLogger("late").LogWarning("after the end");
        factory.Dispose();

        Assert.Equal(string.Empty, output.ToString());
    }
}
