namespace Actors.Client;

/// <summary>Waits the client gives up on: a task left running is observed, a stop ends a wait at once.</summary>
internal static class Waits
{
    /// <summary>Leaves <paramref name="task"/> to finish on its own: its failure, if any, is observed, not raised later as unobserved.</summary>
    public static void Abandon(this Task task) =>
        _ = task.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>
    /// The result of <paramref name="task"/>, unless <paramref name="stopped"/> completes before
    /// it: then the task is abandoned and <paramref name="error"/>'s exception thrown.
    /// </summary>
    public static async Task<T> UnlessStopped<T>(this Task<T> task, Task stopped, Func<Exception> error)
    {
        if (await Task.WhenAny(task, stopped) != task && !task.IsCompleted)
        {
            task.Abandon();
            throw error();
        }

        return await task;
    }
}
