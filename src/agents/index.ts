// Agents register on the builder as each file is imported: the type (with the agent side of
// other types' relations) first, then what uses it.
import './type';
import './queries';
import './mutations';
