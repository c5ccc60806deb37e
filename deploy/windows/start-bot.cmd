@echo off
rem Starts the clip bot from its own folder (two levels up from this script), as Task Scheduler or
rem NSSM runs it. Builds first, so an update pulled with git is what runs. Ctrl+C, Ctrl+Break and
rem closing the window all stop it cleanly.
setlocal
cd /d "%~dp0..\.."
if not exist node_modules (
  call npm ci --omit=dev --no-audit --no-fund || exit /b 1
)
call npm run build || exit /b 1
node dist\main.js
exit /b %ERRORLEVEL%
