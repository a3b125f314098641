// Blocks register on the builder as each file is imported: the type first, then what uses it.
import './type';
import './queries';
import './mutations';
import './history';
import './subscriptions';
