import dotenv from 'dotenv';

// Loads .env before anything reads process.env. Quiet: dotenv otherwise prints a banner on every start.
dotenv.config({ quiet: true });
