export * from "./Api.js"
export * from "./Server.js"
