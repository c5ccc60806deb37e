# Registers a Task Scheduler task that starts the clip bot when YOU log on, as you (not as SYSTEM), so
# your Videos folder and OBS's recordings folder resolve exactly as they do when you run `npm start`.
# Run once in PowerShell from the bot's folder:  powershell -ExecutionPolicy Bypass -File deploy\windows\install-task.ps1
# Remove it with:  Unregister-ScheduledTask -TaskName 'TikTok clip bot' -Confirm:$false
$ErrorActionPreference = 'Stop'
$script = Join-Path $PSScriptRoot 'start-bot.cmd'
$root = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path
$user = "$env:USERDOMAIN\$env:USERNAME"

$action = New-ScheduledTaskAction -Execute 'cmd.exe' -Argument "/c `"$script`"" -WorkingDirectory $root
# A little after logon, so OBS (started from the Startup folder or by hand) is usually up; the bot
# reconnects to OBS on its own either way.
$trigger = New-ScheduledTaskTrigger -AtLogOn -User $user
$trigger.Delay = 'PT30S'
$principal = New-ScheduledTaskPrincipal -UserId $user -LogonType Interactive -RunLevel Limited
# Restart after a crash: every minute, up to 10 times; never stop it for running "too long".
$settings = New-ScheduledTaskSettingsSet -RestartInterval (New-TimeSpan -Minutes 1) -RestartCount 10 `
  -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable

Register-ScheduledTask -TaskName 'TikTok clip bot' -Action $action -Trigger $trigger -Principal $principal `
  -Settings $settings -Description 'Watches TikTok LIVE chats and clips the moment with OBS' -Force | Out-Null
Write-Host "Registered 'TikTok clip bot': starts at your logon from $root. Start it now with: Start-ScheduledTask -TaskName 'TikTok clip bot'"
