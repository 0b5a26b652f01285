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

    /// <summary>
    /// The result of <paramref name="task"/>, waited for as long as whoever completes it shows
    /// it is alive: each <paramref name="interval"/> without a result, <paramref name="probe"/>
    /// runs, and its failure (an ask's time-out) ends the wait with <paramref name="silent"/>'s
    /// exception. A completed <paramref name="stopped"/> ends it at once with
    /// <paramref name="stoppedError"/>'s. There is no bound on the whole wait here: the probe
    /// sets one if any (the producer's calls fail a probe once no item has moved for long,
    /// <see cref="ProgressWatch"/>).
    /// </summary>
    public static async Task<T> WhileAnswering<T>(this Task<T> task, Task stopped, Func<Task> probe, TimeSpan interval, TimeProvider time,
        Func<Exception> stoppedError, Func<Exception, Exception> silent)
    {
        while (!task.IsCompleted && !stopped.IsCompleted)
        {
            using (var tick = new CancellationTokenSource())
            {
                await Task.WhenAny(task, stopped, Task.Delay(interval, time, tick.Token));
                tick.Cancel();
            }

            if (task.IsCompleted || stopped.IsCompleted)
            {
                break;
            }

            var answered = probe();
            await Task.WhenAny(answered, stopped, task);
            answered.Abandon(); // its failure is read here, never raised later
            if (answered.IsFaulted && !task.IsCompleted && !stopped.IsCompleted)
            {
                task.Abandon();
                throw silent(answered.Exception!.InnerException!);
            }
        }

        if (!task.IsCompleted)
        {
            task.Abandon();
            throw stoppedError();
        }

        return await task;
    }
}
